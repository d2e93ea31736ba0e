import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/builds";
import { getArtefactFiles } from "@/lib/builds/builds";

export const GET = withApi(routes.buildArtefact, async ({ db, actor, params }) => getArtefactFiles(db, actor, params.id, decodeURIComponent(params.digest)));
