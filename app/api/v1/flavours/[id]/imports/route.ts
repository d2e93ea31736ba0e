import { withApi } from "@/lib/api/with-api";
import { importImage } from "@/lib/builds/import";

/** `{ reference, digest }`: imports exactly the checked digest as a build; 409 when the tag moved since the check. */
export const POST = withApi({ role: "customer" }, async ({ db, actor, params, body }) => Response.json(await importImage(db, actor, params.id, body), { status: 201 }));
