import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/lists";
import { listBuilds, startBuild } from "@/lib/builds/builds";

export const GET = withApi(routes.listBuilds, async ({ db, actor, params, query }) => listBuilds(db, actor, params.id, query));

/** Press Build: `{ revision? }` (the latest when omitted). The build row and its job are created together. */
export const POST = withApi(routes.startBuild, async ({ db, actor, params, body }) => startBuild(db, actor, params.id, body));
