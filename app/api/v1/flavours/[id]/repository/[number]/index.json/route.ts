import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/repository";
import { getRepositoryIndex } from "@/lib/repository/queries";
import { immutableDocument } from "@/lib/repository/documents";

/** The index, byte for byte what the registry holds as the artifact's config (its sha256 is the index digest). */
export const GET = withApi(routes.indexJson, async ({ req, db, actor, params }) => {
  const { bytes, digest, index } = await getRepositoryIndex(db, actor, params.id, params.number);
  return immutableDocument(req, bytes, { etag: digest, type: "application/json", fileName: `${index.flavour}-repository-${index.revision}.json` });
});
