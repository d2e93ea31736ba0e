import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/repository";
import { getRepositoryIndex } from "@/lib/repository/queries";
import { immutableDocument } from "@/lib/repository/documents";
import { luetRepositoryFiles } from "@/lib/repository/luet-files";

/** luet's artifact index of the revision (paths, sha256, files of every artefact), the `meta` file of its repository.yaml. */
const handler = withApi(routes.metaTar, async ({ req, db, actor, params }) => {
  const { digest, index } = await getRepositoryIndex(db, actor, params.id, params.number);
  const { meta } = await luetRepositoryFiles(db, { digest, index });
  return immutableDocument(req, meta, { etag: `${digest}-luet-meta`, type: "application/x-tar", fileName: "repository.meta.yaml.tar" });
});
export const GET = handler;
export const HEAD = handler;
