import { withApi } from "@/lib/api/with-api";
import { signUp } from "@/lib/auth/sign-up";

export const POST = withApi({ role: "public" }, async ({ db, body }) => {
  const account = await signUp(db, body);
  return Response.json(account, { status: 201 });
});
