import { withApi } from "@/lib/api/with-api";
import { listDevices } from "@/lib/devices/devices";

/** The inventory: `?channel=`, `?flavour=`, `?revoked=1` to include revoked devices. */
export const GET = withApi({ role: "customer" }, async ({ req, db, actor }) => {
  const q = new URL(req.url).searchParams;
  return { devices: await listDevices(db, actor, { channelId: q.get("channel") ?? undefined, flavourId: q.get("flavour") ?? undefined, includeRevoked: q.get("revoked") ?? undefined }) };
});
