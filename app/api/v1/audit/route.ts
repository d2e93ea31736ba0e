import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/lists";
import { listAudit } from "@/lib/audit/audit";

export const GET = withApi(routes.listAudit, async ({ db, actor, query }) => listAudit(db, actor, { channelId: query.channel, cursor: query.cursor, limit: query.limit }));
