import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/builds";
import { buildEventStream } from "@/lib/builds/events";

export const dynamic = "force-dynamic";

/** The build's event stream (see the declaration); a bad id is a 404 and a user over the cap a 429, before any byte. */
export const GET = withApi(routes.buildEvents, async ({ db, actor, params, query, req }) => {
  const header = Number(req.headers.get("last-event-id") ?? NaN);
  const last = Number.isInteger(header) && header > 0 ? header : (query.after ?? 0);
  const stream = await buildEventStream(db, actor, params.id, last, req.signal);
  return new Response(stream, { headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache, no-transform", connection: "keep-alive", "x-accel-buffering": "no" } });
});
