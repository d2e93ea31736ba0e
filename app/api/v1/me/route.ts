import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/account";

export const GET = withApi(routes.me, async ({ actor }) => ({ user: actor.user, org: actor.org, via: actor.via }));
