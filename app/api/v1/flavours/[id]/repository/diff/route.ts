import { withApi } from "@/lib/api/with-api";
import { queryRevision } from "@/lib/api/params";
import { BadRequestError } from "@/lib/errors";
import { diffFlavourRevisions } from "@/lib/repository/queries";

/** The diff of two revisions of this flavour's repository: `?from=N&to=M`. */
export const GET = withApi({ role: "customer" }, async ({ req, db, actor, params }) => {
  const url = new URL(req.url);
  const from = queryRevision(url, "from");
  const to = queryRevision(url, "to");
  if (from === undefined || to === undefined) throw new BadRequestError("Name the two revisions to compare: ?from=1&to=2.");
  return diffFlavourRevisions(db, actor, params.id, from, to);
});
