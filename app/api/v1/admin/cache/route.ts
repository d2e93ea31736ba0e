import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/admin";
import { getCacheOverview } from "@/lib/builder/cache-prune";

export const dynamic = "force-dynamic";

/** The build cache on the engine (images, bytes of their own layers), the last prunes and the prune settings. Admins only. */
export const GET = withApi(routes.getCache, async ({ db, actor }) => getCacheOverview(db, actor));
