import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/devices";
import { getDevice, revokeDevice, updateDevice } from "@/lib/devices/devices";

export const GET = withApi(routes.getDevice, async ({ db, actor, params }) => getDevice(db, actor, params.id));

export const PATCH = withApi(routes.updateDevice, async ({ db, actor, params, body }) => updateDevice(db, actor, params.id, body));

export const DELETE = withApi(routes.revokeDevice, async ({ db, actor, params }) => revokeDevice(db, actor, params.id));
