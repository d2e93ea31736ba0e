import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/builds";
import { getImportDiff } from "@/lib/builds/import-diff";

export const GET = withApi(routes.buildDiff, async ({ db, actor, params }) => getImportDiff(db, actor, params.id));
