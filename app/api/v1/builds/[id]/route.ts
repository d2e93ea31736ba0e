import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/builds";
import { getBuild } from "@/lib/builds/builds";
import { buildForClient } from "@/lib/builds/view";

export const GET = withApi(routes.getBuild, async ({ db, actor, params }) => buildForClient(await getBuild(db, actor, params.id)));
