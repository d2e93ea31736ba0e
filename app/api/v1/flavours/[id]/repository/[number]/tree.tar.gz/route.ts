import { withApi } from "@/lib/api/with-api";
import { revisionNumber } from "@/lib/api/params";
import { getRepositoryIndex } from "@/lib/repository/queries";
import { immutableDocument } from "@/lib/repository/documents";
import { luetRepositoryFiles } from "@/lib/repository/luet-files";

/** luet's tree of the revision (one definition.yaml per package), the `tree` file of its repository.yaml. */
const handler = withApi({ role: "customer" }, async ({ req, db, actor, params }) => {
  const { digest, index } = await getRepositoryIndex(db, actor, params.id, revisionNumber(params.number, "repository revision"));
  const { tree } = await luetRepositoryFiles(db, { digest, index });
  return immutableDocument(req, tree, { etag: `${digest}-luet-tree`, type: "application/gzip", fileName: "tree.tar.gz" });
});
export const GET = handler;
export const HEAD = handler;
