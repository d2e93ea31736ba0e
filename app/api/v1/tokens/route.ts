import { withApi } from "@/lib/api/with-api";
import { createToken, listTokens } from "@/lib/auth/tokens";

export const GET = withApi({ role: "customer" }, async ({ db, actor }) => ({ tokens: await listTokens(db, actor) }));

export const POST = withApi({ role: "customer" }, async ({ db, actor, body }) => {
  const { token, summary } = await createToken(db, actor, body);
  return Response.json({ token, ...summary }, { status: 201 });
});
