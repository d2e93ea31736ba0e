import { withApi } from "@/lib/api/with-api";
import { getCacheOverview } from "@/lib/builder/cache-prune";

export const dynamic = "force-dynamic";

/** The build cache on the engine (images, bytes of their own layers), the last prunes and the prune settings. Admins only. */
export const GET = withApi({ role: "admin" }, async ({ db, actor }) => getCacheOverview(db, actor));
