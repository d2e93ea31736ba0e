import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/repository";
import { getRepositoryIndex } from "@/lib/repository/queries";
import { immutableDocument } from "@/lib/repository/documents";
import { luetRepositoryFiles } from "@/lib/repository/luet-files";

/** luet's tree of the revision (one definition.yaml per package), the `tree` file of its repository.yaml. */
const handler = withApi(routes.treeTarGz, async ({ req, db, actor, params }) => {
  const { digest, index } = await getRepositoryIndex(db, actor, params.id, params.number);
  const { tree } = await luetRepositoryFiles(db, { digest, index });
  return immutableDocument(req, tree, { etag: `${digest}-luet-tree`, type: "application/gzip", fileName: "tree.tar.gz" });
});
export const GET = handler;
export const HEAD = handler;
