import { withApi } from "@/lib/api/with-api";
import { buildEventStream } from "@/lib/builds/events";

export const dynamic = "force-dynamic";

/**
 * text/event-stream: `build` (state), `log` (lines; the event id is the last line's id), `end`. Resumes from Last-Event-ID.
 * 429 when the user has STRATA_MAX_STREAMS_PER_USER streams open in this web process already.
 */
export const GET = withApi({ role: "customer" }, async ({ db, actor, params, req }) => {
  const last = Number(req.headers.get("last-event-id") ?? new URL(req.url).searchParams.get("after") ?? 0);
  const stream = await buildEventStream(db, actor, params.id, Number.isInteger(last) && last > 0 ? last : 0, req.signal);
  return new Response(stream, { headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache, no-transform", connection: "keep-alive", "x-accel-buffering": "no" } });
});
