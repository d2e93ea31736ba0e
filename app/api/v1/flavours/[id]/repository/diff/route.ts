import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/repository";
import { diffFlavourRevisions } from "@/lib/repository/queries";

/** The diff of two revisions of this flavour's repository: `?from=N&to=M`. */
export const GET = withApi(routes.diffRevisions, async ({ db, actor, params, query }) => diffFlavourRevisions(db, actor, params.id, query.from, query.to));
