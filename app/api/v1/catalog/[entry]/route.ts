import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/catalog";
import { agentBundleSource } from "@/lib/agent/bundle";
import { buildCatalogLayer } from "@/lib/manifest/catalog";

/** Turns a catalog form into the package definition of a layer (not saved: add it to a revision's layers). */
export const POST = withApi(routes.buildLayer, async ({ params, body }) => ({
  // The device agent's layer carries the agent itself, bundled from this checkout (the web process runs from its root).
  layer: buildCatalogLayer(params.entry, body, params.entry === "device-agent" ? { agentBundle: await agentBundleSource({ repoRoot: process.cwd() }) } : {}),
}));
