import { withApi } from "@/lib/api/with-api";
import { revokeRegistrationToken } from "@/lib/devices/registration-tokens";

export const DELETE = withApi({ role: "customer" }, async ({ db, actor, params }) => {
  await revokeRegistrationToken(db, actor, params.id);
  return new Response(null, { status: 204 });
});
