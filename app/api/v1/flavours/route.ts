import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/lists";
import { createFlavour, listFlavours } from "@/lib/flavours/flavours";

export const GET = withApi(routes.listFlavours, async ({ db, actor, query }) => listFlavours(db, actor, query));

export const POST = withApi(routes.createFlavour, async ({ db, actor, body }) => createFlavour(db, actor, body));
