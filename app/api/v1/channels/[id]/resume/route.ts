import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/channels";
import { resumeChannel } from "@/lib/channels/channels";

export const POST = withApi(routes.resumeChannel, async ({ db, actor, params }) => resumeChannel(db, actor, params.id));
