import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/registration-tokens";
import { createRegistrationToken, listRegistrationTokens } from "@/lib/devices/registration-tokens";

export const GET = withApi(routes.listRegistrationTokens, async ({ db, actor, params }) => ({ tokens: await listRegistrationTokens(db, actor, params.id) }));

export const POST = withApi(routes.createRegistrationToken, async ({ db, actor, params, body }) => createRegistrationToken(db, actor, params.id, body));
