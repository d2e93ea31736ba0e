import { withApi } from "@/lib/api/with-api";
import { revokeToken } from "@/lib/auth/tokens";

export const DELETE = withApi({ role: "customer" }, async ({ db, actor, params }) => {
  await revokeToken(db, actor, params.id);
  return new Response(null, { status: 204 });
});
