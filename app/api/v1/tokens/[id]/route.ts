import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/tokens";
import { revokeToken } from "@/lib/auth/tokens";

export const DELETE = withApi(routes.revokeToken, async ({ db, actor, params }) => {
  await revokeToken(db, actor, params.id);
});
