import { withApi } from "@/lib/api/with-api";
import { revisionNumber } from "@/lib/api/params";
import { config } from "@/lib/config";
import { getRepositoryIndex } from "@/lib/repository/queries";
import { immutableDocument } from "@/lib/repository/documents";
import { spdxDocument } from "@/lib/repository/sbom";

/** An SPDX 2.3 JSON SBOM of the revision: its Debian packages and its Strata packages. */
export const GET = withApi({ role: "customer" }, async ({ req, db, actor, params }) => {
  const { digest, index, revision } = await getRepositoryIndex(db, actor, params.id, revisionNumber(params.number, "repository revision"));
  const sbom = spdxDocument(index, { namespaceBase: `${config.publicUrl}/spdx`, created: revision.createdAt });
  return immutableDocument(req, Buffer.from(`${JSON.stringify(sbom, null, 2)}\n`), {
    etag: `${digest}-spdx`,
    type: "application/spdx+json",
    fileName: `${index.flavour}-repository-${index.revision}.spdx.json`,
  });
});
