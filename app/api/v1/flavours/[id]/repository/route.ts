import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/repository";
import { listRepositoryRevisions } from "@/lib/repository/queries";

/** The revisions of the flavour's repository, newest first. */
export const GET = withApi(routes.listRevisions, async ({ db, actor, params }) => listRepositoryRevisions(db, actor, params.id));
