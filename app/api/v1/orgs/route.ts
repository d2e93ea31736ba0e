import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/orgs";
import { listOrgs } from "@/lib/orgs/queries";

export const GET = withApi(routes.listOrgs, async ({ db, actor }) => ({ orgs: await listOrgs(db, actor) }));
