import { withApi } from "@/lib/api/with-api";
import { listOrgs } from "@/lib/orgs/queries";

export const GET = withApi({ role: "customer" }, async ({ db, actor }) => ({ orgs: await listOrgs(db, actor) }));
