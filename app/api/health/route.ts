import { withApi } from "@/lib/api/with-api";
import { Reply } from "@/lib/api/spec";
import * as routes from "@/lib/api/routes/health";
import { publicHealth } from "@/lib/health";

export const dynamic = "force-dynamic";

// Status only: versions and raw errors tell a stranger what to attack; admins read them at /api/v1/admin/health.
export const GET = withApi(routes.health, async ({ db }) => {
  const status = await publicHealth(db);
  return new Reply({ status }, { status: status === "down" ? 503 : 200, headers: { "cache-control": "no-store" } });
});
