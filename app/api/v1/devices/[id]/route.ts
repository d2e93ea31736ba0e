import { withApi } from "@/lib/api/with-api";
import { getDevice, revokeDevice, updateDevice } from "@/lib/devices/devices";

export const GET = withApi({ role: "customer" }, async ({ db, actor, params }) => getDevice(db, actor, params.id));

/** `{ name? , pinnedReference? (null unpins), channelId? }`. */
export const PATCH = withApi({ role: "customer" }, async ({ db, actor, params, body }) => updateDevice(db, actor, params.id, body));

/** Revoke: the device's secret stops working. */
export const DELETE = withApi({ role: "customer" }, async ({ db, actor, params }) => revokeDevice(db, actor, params.id));
