import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/flavours";
import { getRevision } from "@/lib/flavours/flavours";

export const GET = withApi(routes.getRevision, async ({ db, actor, params }) => getRevision(db, actor, params.id, params.number));
