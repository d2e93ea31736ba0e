import { withApi } from "@/lib/api/with-api";
import { diffRevisionsById } from "@/lib/repository/queries";

/** The diff of two repository revisions by id (`?from=<id>&to=<id>`); both must be revisions of one flavour. */
export const GET = withApi({ role: "customer" }, async ({ req, db, actor }) => {
  const url = new URL(req.url);
  return diffRevisionsById(db, actor, url.searchParams.get("from") ?? "", url.searchParams.get("to") ?? "");
});
