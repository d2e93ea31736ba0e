import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/orgs";
import { listOrgs } from "@/lib/orgs/queries";

/** Organisations in slug order, a page at a time; `q` searches names and slugs. */
export const GET = withApi(routes.listOrgs, async ({ db, actor, query }) => listOrgs(db, actor, query));
