import { withApi } from "@/lib/api/with-api";
import { revisionNumber } from "@/lib/api/params";
import { searchRevisionFiles } from "@/lib/repository/queries";

/** "Which package ships this path?": files of the revision whose path contains `q`, in path order, paginated. */
export const GET = withApi({ role: "customer" }, async ({ req, db, actor, params }) => {
  const url = new URL(req.url);
  return searchRevisionFiles(db, actor, params.id, revisionNumber(params.number, "repository revision"), {
    q: url.searchParams.get("q") ?? "",
    after: url.searchParams.get("after") ?? undefined,
    limit: url.searchParams.get("limit") ?? undefined,
  });
});
