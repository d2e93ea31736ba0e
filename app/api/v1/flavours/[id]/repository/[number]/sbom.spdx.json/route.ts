import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/repository";
import { config } from "@/lib/config";
import { getRepositoryIndex } from "@/lib/repository/queries";
import { immutableDocument } from "@/lib/repository/documents";
import { spdxDocument } from "@/lib/repository/sbom";

/** An SPDX 2.3 JSON SBOM of the revision: its Debian packages and its Strata packages. */
export const GET = withApi(routes.sbom, async ({ req, db, actor, params }) => {
  const { digest, index, revision } = await getRepositoryIndex(db, actor, params.id, params.number);
  const sbom = spdxDocument(index, { namespaceBase: `${config.publicUrl}/spdx`, created: revision.createdAt });
  return immutableDocument(req, Buffer.from(`${JSON.stringify(sbom, null, 2)}\n`), {
    etag: `${digest}-spdx`,
    type: "application/spdx+json",
    fileName: `${index.flavour}-repository-${index.revision}.spdx.json`,
  });
});
