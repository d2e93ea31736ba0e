import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/channels";
import { setRollout } from "@/lib/channels/channels";

export const POST = withApi(routes.setRollout, async ({ db, actor, params, body }) => setRollout(db, actor, params.id, body));
