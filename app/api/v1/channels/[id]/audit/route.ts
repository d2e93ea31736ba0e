import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/lists";
import { listAudit } from "@/lib/audit/audit";
import { getChannelRow } from "@/lib/channels/channels";

export const GET = withApi(routes.listChannelAudit, async ({ db, actor, params, query }) => {
  await getChannelRow(db, actor, params.id);
  return listAudit(db, actor, { channelId: params.id, cursor: query.cursor, limit: query.limit });
});
