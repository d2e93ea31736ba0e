import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/repository";
import { diffRevisionsById } from "@/lib/repository/queries";

/** The diff of two repository revisions by id (`?from=<id>&to=<id>`); both must be revisions of one flavour. */
export const GET = withApi(routes.diffRevisionsById, async ({ db, actor, query }) => diffRevisionsById(db, actor, query.from, query.to));
