import { withApi } from "@/lib/api/with-api";
import { revisionNumber } from "@/lib/api/params";
import { listPackageFiles } from "@/lib/repository/queries";
import { parseInput } from "@/lib/validation";
import { FileListQuery } from "@/lib/repository/queries";

/** A package's files in path order, `limit` at a time after the path `after`; `q` filters by a part of the path. */
export const GET = withApi({ role: "customer" }, async ({ req, db, actor, params }) => {
  const query = parseInput(FileListQuery, Object.fromEntries(new URL(req.url).searchParams));
  return listPackageFiles(db, actor, params.id, revisionNumber(params.number, "repository revision"), params.category, params.name, query);
});
