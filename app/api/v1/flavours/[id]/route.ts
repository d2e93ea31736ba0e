import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/flavours";
import { getFlavour, updateFlavour } from "@/lib/flavours/flavours";

export const GET = withApi(routes.getFlavour, async ({ db, actor, params }) => getFlavour(db, actor, params.id));

/** Rename, describe, archive ({ archived: true }) or restore ({ archived: false }). */
export const PATCH = withApi(routes.updateFlavour, async ({ db, actor, params, body }) => updateFlavour(db, actor, params.id, body));
