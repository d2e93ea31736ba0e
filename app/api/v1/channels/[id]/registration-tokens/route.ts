import { withApi } from "@/lib/api/with-api";
import { createRegistrationToken, listRegistrationTokens } from "@/lib/devices/registration-tokens";

export const GET = withApi({ role: "customer" }, async ({ db, actor, params }) => ({ tokens: await listRegistrationTokens(db, actor, params.id) }));

/** `{ name, expiresInDays?, maxUses? }`; the response's `token` is shown once. */
export const POST = withApi({ role: "customer" }, async ({ db, actor, params, body }) => Response.json(await createRegistrationToken(db, actor, params.id, body), { status: 201 }));
