import { withApi } from "@/lib/api/with-api";
import { revisionNumber } from "@/lib/api/params";
import { getRepositoryIndex } from "@/lib/repository/queries";
import { immutableDocument } from "@/lib/repository/documents";
import { luetRepositoryYaml } from "@/lib/repository/luet";

/** The revision as a luet repository.yaml. */
export const GET = withApi({ role: "customer" }, async ({ req, db, actor, params }) => {
  const { digest, index } = await getRepositoryIndex(db, actor, params.id, revisionNumber(params.number, "repository revision"));
  const yaml = luetRepositoryYaml(index, { baseUrl: new URL(`/api/v1/flavours/${params.id}/repository/${index.revision}`, req.url).toString() });
  return immutableDocument(req, Buffer.from(yaml), { etag: `${digest}-luet`, type: "application/yaml; charset=utf-8", fileName: "repository.yaml" });
});
