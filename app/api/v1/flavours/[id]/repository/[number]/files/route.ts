import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/repository";
import { searchRevisionFiles } from "@/lib/repository/queries";

/** "Which package ships this path?": files of the revision whose path contains `q`, in path order, paginated. */
export const GET = withApi(routes.searchFiles, async ({ db, actor, params, query }) => searchRevisionFiles(db, actor, params.id, params.number, query));
