import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/lists";
import { listDevices } from "@/lib/devices/devices";

export const GET = withApi(routes.listDevices, async ({ db, actor, query }) =>
  listDevices(db, actor, { channelId: query.channel, flavourId: query.flavour, includeRevoked: query.revoked ? "1" : undefined, cursor: query.cursor, limit: query.limit }),
);
