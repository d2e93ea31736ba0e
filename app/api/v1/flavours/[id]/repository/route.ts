import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/repository";
import { listRepositoryRevisions } from "@/lib/repository/queries";

/** The revisions of the flavour's repository, newest first, a page at a time. */
export const GET = withApi(routes.listRevisions, async ({ db, actor, params, query }) => listRepositoryRevisions(db, actor, params.id, query));
