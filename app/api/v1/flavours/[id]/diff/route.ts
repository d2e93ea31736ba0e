import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/flavours";
import { diffRevisions, getFlavour } from "@/lib/flavours/flavours";

/** ?from=<n>|base&to=<n>; `to` defaults to the latest revision, `from` to the one before it (or the base). */
export const GET = withApi(routes.diffRevisions, async ({ db, actor, params, query }) => {
  const to = query.to ?? (await getFlavour(db, actor, params.id)).latest.number;
  const from = query.from ?? (to > 1 ? to - 1 : "base");
  return diffRevisions(db, actor, params.id, from, to);
});
