import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/channels";
import { rollbackChannel } from "@/lib/channels/channels";

export const POST = withApi(routes.rollbackChannel, async ({ db, actor, params, body }) => rollbackChannel(db, actor, params.id, body));
