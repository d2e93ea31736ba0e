import { withApi } from "@/lib/api/with-api";
import { rollbackChannel } from "@/lib/channels/channels";

/** Admins: `{ releaseId }` of an earlier approved release becomes the channel's release for every device. */
export const POST = withApi({ role: "admin" }, async ({ db, actor, params, body }) => rollbackChannel(db, actor, params.id, body));
