import { withApi } from "@/lib/api/with-api";
import { buildCatalogLayer } from "@/lib/manifest/catalog";

/** Turns a catalog form into the package definition of a layer (not saved: add it to a revision's layers). */
export const POST = withApi({ role: "customer" }, async ({ params, body }) => ({ layer: buildCatalogLayer(params.entry, body) }));
