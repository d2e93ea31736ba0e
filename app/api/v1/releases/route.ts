import { withApi } from "@/lib/api/with-api";
import { listReleases } from "@/lib/releases/releases";

/** `?status=pending` is the approval queue (admins: every organisation); `?status=decided&limit=20` the latest decisions. */
export const GET = withApi({ role: "customer" }, async ({ req, db, actor }) => {
  const q = new URL(req.url).searchParams;
  return { releases: await listReleases(db, actor, { status: q.get("status") ?? undefined, channelId: q.get("channel") ?? undefined, limit: q.get("limit") ?? undefined }) };
});
