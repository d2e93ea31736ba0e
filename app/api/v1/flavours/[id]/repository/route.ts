import { withApi } from "@/lib/api/with-api";
import { listRepositoryRevisions } from "@/lib/repository/queries";

/** The revisions of the flavour's repository, newest first. */
export const GET = withApi({ role: "customer" }, async ({ db, actor, params }) => listRepositoryRevisions(db, actor, params.id));
