import { withApi } from "@/lib/api/with-api";
import { Reply } from "@/lib/api/spec";
import * as routes from "@/lib/api/routes/tokens";
import { createToken, listTokens } from "@/lib/auth/tokens";

export const GET = withApi(routes.listTokens, async ({ db, actor }) => ({ tokens: await listTokens(db, actor) }));

export const POST = withApi(routes.createToken, async ({ db, actor, body }) => {
  const { token, summary } = await createToken(db, actor, body);
  return new Reply({ token, ...summary });
});
