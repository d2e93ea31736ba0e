import { withApi } from "@/lib/api/with-api";
import { getOrg } from "@/lib/orgs/queries";

export const GET = withApi({ role: "customer" }, async ({ db, actor, params }) => getOrg(db, actor, params.id));
