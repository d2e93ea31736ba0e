import { withApi } from "@/lib/api/with-api";
import { getBaseManifest } from "@/lib/base-manifests/base-manifests";
import { requiresGraph } from "@/lib/manifest/order";

export const GET = withApi({ role: "customer" }, async ({ db, params, req }) => {
  const manifest = await getBaseManifest(db, params.id);
  if (new URL(req.url).searchParams.get("format") === "yaml")
    return new Response(manifest.source, { headers: { "content-type": "application/yaml; charset=utf-8", "content-disposition": `attachment; filename="${manifest.name}-${manifest.version}.yaml"` } });
  return { ...manifest, graph: requiresGraph(manifest.packages) };
});
