import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/flavours";
import { createChannel, listChannels } from "@/lib/channels/channels";

export const GET = withApi(routes.listChannels, async ({ db, actor, params }) => listChannels(db, actor, params.id));

/** `{ name, description? }`: a channel next to stable and beta. */
export const POST = withApi(routes.createChannel, async ({ db, actor, params, body }) => createChannel(db, actor, params.id, body));
