import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/sign-up";
import { clientAddress } from "@/lib/auth/client-address";
import { signUp } from "@/lib/auth/sign-up";

export const POST = withApi(routes.signUp, async ({ db, body, req }) => signUp(db, body, { address: clientAddress(req.headers) }));
