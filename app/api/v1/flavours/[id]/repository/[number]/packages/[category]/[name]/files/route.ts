import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/repository";
import { listPackageFiles } from "@/lib/repository/queries";

/** A package's files in path order, `limit` at a time after the path `after`; `q` filters by a part of the path. */
export const GET = withApi(routes.listPackageFiles, async ({ db, actor, params, query }) =>
  listPackageFiles(db, actor, params.id, params.number, params.category, params.name, query),
);
