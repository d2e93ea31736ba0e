import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/builds";
import { getBuildLogs } from "@/lib/builds/builds";

export const GET = withApi(routes.buildLogs, async ({ db, actor, params, query }) => {
  const { lines } = await getBuildLogs(db, actor, params.id, query);
  return { lines };
});
