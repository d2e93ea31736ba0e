import { withApi } from "@/lib/api/with-api";
import { queryRevision } from "@/lib/api/params";
import { diffRevisions, getFlavour } from "@/lib/flavours/flavours";

/** ?from=<n>|base&to=<n>; `to` defaults to the latest revision, `from` to the one before it (or the base). */
export const GET = withApi({ role: "customer" }, async ({ db, actor, params, req }) => {
  const url = new URL(req.url);
  const flavour = await getFlavour(db, actor, params.id);
  const to = queryRevision(url, "to") ?? flavour.latest.number;
  const from = url.searchParams.get("from") === "base" ? "base" : (queryRevision(url, "from") ?? (to > 1 ? to - 1 : "base"));
  return diffRevisions(db, actor, params.id, from, to);
});
