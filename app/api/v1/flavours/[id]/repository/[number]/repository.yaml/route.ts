import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/repository";
import { getRepositoryIndex } from "@/lib/repository/queries";
import { immutableDocument } from "@/lib/repository/documents";
import { luetRepositoryYaml } from "@/lib/repository/luet";
import { luetRepositoryFiles } from "@/lib/repository/luet-files";

/** The revision as a luet repository.yaml: this revision's URL is the repository, and the tree and meta files' sha256 are listed. */
const handler = withApi(routes.repositoryYaml, async ({ req, db, actor, params }) => {
  const { digest, index } = await getRepositoryIndex(db, actor, params.id, params.number);
  const { checksums } = await luetRepositoryFiles(db, { digest, index });
  const yaml = luetRepositoryYaml(index, { baseUrl: new URL(`/api/v1/flavours/${params.id}/repository/${index.revision}`, req.url).toString(), checksums });
  return immutableDocument(req, Buffer.from(yaml), { etag: `${digest}-luet-repository`, type: "application/yaml; charset=utf-8", fileName: "repository.yaml" });
});
export const GET = handler;
export const HEAD = handler;
