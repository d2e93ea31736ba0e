import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/orgs";
import { getOrg } from "@/lib/orgs/queries";

export const GET = withApi(routes.getOrg, async ({ db, actor, params }) => getOrg(db, actor, params.id));
