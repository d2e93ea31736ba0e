import { withApi } from "@/lib/api/with-api";
import { Reply } from "@/lib/api/spec";
import * as routes from "@/lib/api/routes/health";
import { checkHealth } from "@/lib/health";

export const dynamic = "force-dynamic";

export const GET = withApi(routes.adminHealth, async ({ db }) => new Reply(await checkHealth(db), { headers: { "cache-control": "no-store" } }));
