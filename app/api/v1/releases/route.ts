import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/lists";
import { listReleases } from "@/lib/releases/releases";

export const GET = withApi(routes.listReleases, async ({ db, actor, query }) =>
  listReleases(db, actor, { status: query.status, channelId: query.channel, cursor: query.cursor, limit: query.limit }),
);
