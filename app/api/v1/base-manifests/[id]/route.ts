import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/base-manifests";
import { getBaseManifest } from "@/lib/base-manifests/base-manifests";
import { requiresGraph } from "@/lib/manifest/order";

export const GET = withApi(routes.getBaseManifest, async ({ db, params, query }) => {
  const manifest = await getBaseManifest(db, params.id);
  if (query.format === "yaml")
    return new Response(manifest.source, { headers: { "content-type": "application/yaml; charset=utf-8", "content-disposition": `attachment; filename="${manifest.name}-${manifest.version}.yaml"` } });
  return { ...manifest, graph: requiresGraph(manifest.packages) };
});
