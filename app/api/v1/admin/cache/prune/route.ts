import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/admin";
import { getPool } from "@/lib/db";
import { pruneCacheNow } from "@/lib/builder/cache-prune";

/** Prunes the build cache now (what the scheduled job does); answers with the recorded run, 409 while one runs. Admins only. */
export const POST = withApi(routes.pruneCache, async ({ db, actor }) => ({ prune: await pruneCacheNow(db, actor, { pool: getPool() }) }));
