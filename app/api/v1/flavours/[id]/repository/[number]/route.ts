import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/repository";
import { getRepositoryRevision } from "@/lib/repository/queries";

/** One revision: summary, packages in build order, Debian packages. */
export const GET = withApi(routes.getRevision, async ({ db, actor, params }) => getRepositoryRevision(db, actor, params.id, params.number));
