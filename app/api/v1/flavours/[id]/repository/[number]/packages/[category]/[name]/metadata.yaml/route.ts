import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/repository";
import { NotFoundError } from "@/lib/errors";
import { getRepositoryIndex, listAllPackagePaths } from "@/lib/repository/queries";
import { immutableDocument } from "@/lib/repository/documents";
import { luetPackageMetadataYaml } from "@/lib/repository/luet";

/** A package's luet metadata.yaml (its artefact, checksum, compile spec and file list). */
export const GET = withApi(routes.packageMetadata, async ({ req, db, actor, params }) => {
  const { digest, index, revision } = await getRepositoryIndex(db, actor, params.id, params.number);
  const pkg = index.packages.find((p) => p.category === params.category && p.name === params.name);
  if (!pkg) throw new NotFoundError(`No package ${params.category}/${params.name} in repository revision ${revision.number}.`);
  const yaml = luetPackageMetadataYaml(index, pkg, await listAllPackagePaths(db, pkg.artefact.digest));
  return immutableDocument(req, Buffer.from(yaml), { etag: `${digest}-${pkg.category}-${pkg.name}-luet-metadata`, type: "application/yaml; charset=utf-8", fileName: "metadata.yaml" });
});
