import { withApi } from "@/lib/api/with-api";
import { createChannel, listChannels } from "@/lib/channels/channels";

export const GET = withApi({ role: "customer" }, async ({ db, actor, params }) => listChannels(db, actor, params.id));

/** `{ name, description? }`: a channel next to stable and beta. */
export const POST = withApi({ role: "customer" }, async ({ db, actor, params, body }) => Response.json(await createChannel(db, actor, params.id, body), { status: 201 }));
