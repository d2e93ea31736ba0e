import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/flavours";
import { importImage } from "@/lib/builds/import";

/** `{ reference, digest }`: imports exactly the checked digest as a build; 409 when the tag moved since the check. */
export const POST = withApi(routes.importImage, async ({ db, actor, params, body }) => importImage(db, actor, params.id, body));
