import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/channels";
import { getChannel, updateChannel } from "@/lib/channels/channels";

export const GET = withApi(routes.getChannel, async ({ db, actor, params }) => getChannel(db, actor, params.id));

export const PATCH = withApi(routes.updateChannel, async ({ db, actor, params, body }) => updateChannel(db, actor, params.id, body));
