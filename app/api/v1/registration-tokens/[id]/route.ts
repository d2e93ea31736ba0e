import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/registration-tokens";
import { revokeRegistrationToken } from "@/lib/devices/registration-tokens";

export const DELETE = withApi(routes.revokeRegistrationToken, async ({ db, actor, params }) => {
  await revokeRegistrationToken(db, actor, params.id);
});
