import { withApi } from "@/lib/api/with-api";
import { listBuilds, startBuild } from "@/lib/builds/builds";

export const GET = withApi({ role: "customer" }, async ({ db, actor, params }) => ({ builds: await listBuilds(db, actor, params.id) }));

/** Press Build: `{ revision? }` (the latest when omitted). The build row and its job are created together. */
export const POST = withApi({ role: "customer" }, async ({ db, actor, params, body }) => Response.json(await startBuild(db, actor, params.id, body), { status: 201 }));
