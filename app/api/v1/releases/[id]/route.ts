import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/releases";
import { getRelease } from "@/lib/releases/releases";

export const GET = withApi(routes.getRelease, async ({ db, actor, params }) => getRelease(db, actor, params.id));
