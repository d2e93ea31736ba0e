import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/releases";
import { approveRelease } from "@/lib/releases/releases";

export const POST = withApi(routes.approveRelease, async ({ db, actor, params, body }) => approveRelease(db, actor, params.id, body));
