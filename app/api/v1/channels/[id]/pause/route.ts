import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/channels";
import { pauseChannel } from "@/lib/channels/channels";

export const POST = withApi(routes.pauseChannel, async ({ db, actor, params, body }) => pauseChannel(db, actor, params.id, body));
