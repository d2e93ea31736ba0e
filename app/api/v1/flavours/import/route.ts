import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/flavours";
import { importFlavour } from "@/lib/flavours/transfer";

export const POST = withApi(routes.importFlavour, async ({ db, actor, body }) => importFlavour(db, actor, body));
