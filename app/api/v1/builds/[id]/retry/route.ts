import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/builds";
import { retryBuild } from "@/lib/builds/builds";
import { buildRetry } from "@/lib/builds/view";

export const POST = withApi(routes.retryBuild, async ({ db, actor, params }) => {
  const build = await retryBuild(db, actor, params.id);
  return { ...build, retry: buildRetry(build) };
});
