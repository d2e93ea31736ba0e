import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/releases";
import { rejectRelease } from "@/lib/releases/releases";

export const POST = withApi(routes.rejectRelease, async ({ db, actor, params, body }) => rejectRelease(db, actor, params.id, body));
