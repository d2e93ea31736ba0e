import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/lists";
import { listRevisions, saveRevision } from "@/lib/flavours/flavours";

export const GET = withApi(routes.listRevisions, async ({ db, actor, params, query }) => listRevisions(db, actor, params.id, query));

export const POST = withApi(routes.saveRevision, async ({ db, actor, params, body }) => saveRevision(db, actor, params.id, body));
