import { withApi } from "@/lib/api/with-api";
import { getChannel, updateChannel } from "@/lib/channels/channels";

export const GET = withApi({ role: "customer" }, async ({ db, actor, params }) => getChannel(db, actor, params.id));

/** `{ description?, failureThresholdPercent?, failureMinReports? }`. */
export const PATCH = withApi({ role: "customer" }, async ({ db, actor, params, body }) => updateChannel(db, actor, params.id, body));
