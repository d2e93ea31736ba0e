import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/lists";
import { getChannelRow } from "@/lib/channels/channels";
import { listReleases, requestRelease } from "@/lib/releases/releases";

export const GET = withApi(routes.listChannelReleases, async ({ db, actor, params, query }) => {
  await getChannelRow(db, actor, params.id);
  return listReleases(db, actor, { channelId: params.id, status: query.status, cursor: query.cursor, limit: query.limit });
});

/** Ask to release a succeeded build: `{ buildId, version, notes? }`; it waits for an admin's approval. */
export const POST = withApi(routes.requestRelease, async ({ db, actor, params, body }) => requestRelease(db, actor, params.id, body));
