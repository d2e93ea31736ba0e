import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/flavours";
import { checkImport } from "@/lib/builds/import";

/** `{ reference }` → what importing it would bring in (digest, parent build, extra layers); writes nothing. */
export const POST = withApi(routes.checkImport, async ({ db, actor, params, body }) => checkImport(db, actor, params.id, body));
