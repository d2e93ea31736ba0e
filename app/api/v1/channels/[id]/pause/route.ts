import { withApi } from "@/lib/api/with-api";
import { pauseChannel } from "@/lib/channels/channels";

/** Admins: devices stay where they are until resumed. `{ reason? }`. */
export const POST = withApi({ role: "admin" }, async ({ db, actor, params, body }) => pauseChannel(db, actor, params.id, body));
