import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/flavours";
import { previewRebase, rebaseFlavour } from "@/lib/flavours/flavours";

/** ?baseManifestId=…: what the rebase would change, and whether the layers still fit. */
export const GET = withApi(routes.previewRebase, async ({ db, actor, params, query }) => previewRebase(db, actor, params.id, query.baseManifestId));

export const POST = withApi(routes.rebase, async ({ db, actor, params, body }) => rebaseFlavour(db, actor, params.id, body));
