import { withApi } from "@/lib/api/with-api";
import { setRollout } from "@/lib/channels/channels";

/** Admins: `{ percent }` of devices get the current release. */
export const POST = withApi({ role: "admin" }, async ({ db, actor, params, body }) => setRollout(db, actor, params.id, body));
