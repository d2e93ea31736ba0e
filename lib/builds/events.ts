// Server-sent events of one build: a snapshot, then new log lines and state changes until the build ends.
// Polls the database (not process memory), so any web process can serve any build, and a reload resumes from Last-Event-ID.
import type { Db } from "../db";
import type { Actor } from "../auth/actor";
import { TERMINAL_STATUSES } from "../db/schema";
import { getBuild, getBuildLogs } from "./builds";

const POLL_MS = 500;
const KEEPALIVE_MS = 15_000;

export type BuildSnapshot = Awaited<ReturnType<typeof getBuild>>;

/**
 * What decides whether a snapshot is news: everything the page can show — status, phase and its detail, each
 * package's status, step, timings and artefact (which lands while the build still runs) — but not the heartbeat,
 * which the worker rewrites every second and which would turn every poll into an event.
 */
export function buildChangeKey(snapshot: BuildSnapshot): string {
  const { heartbeatAt: _heartbeat, ...shown } = snapshot;
  return JSON.stringify(shown);
}

export async function buildEventStream(db: Db, actor: Actor, buildId: string, lastEventId: number, signal: AbortSignal): Promise<ReadableStream<Uint8Array>> {
  // Authorise before streaming: a bad id is a 404, not an empty stream.
  let snapshot = await getBuild(db, actor, buildId);
  const encoder = new TextEncoder();
  return new ReadableStream({
    async start(controller) {
      const send = (event: string, data: unknown, id?: number) =>
        controller.enqueue(encoder.encode(`${id !== undefined ? `id: ${id}\n` : ""}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
      let after = lastEventId;
      let lastState = "";
      let lastKeepalive = Date.now();
      try {
        controller.enqueue(encoder.encode("retry: 2000\n\n"));
        while (!signal.aborted) {
          const state = buildChangeKey(snapshot);
          if (state !== lastState) {
            send("build", snapshot);
            lastState = state;
          }
          // Drain every line written so far, in pages.
          for (;;) {
            const { lines } = await getBuildLogs(db, actor, buildId, { after, limit: 1000 });
            if (lines.length === 0) break;
            after = lines[lines.length - 1].id;
            send("log", lines.map((l) => ({ id: l.id, packageId: l.packageId, line: l.line })), after);
            if (lines.length < 1000) break;
          }
          if (TERMINAL_STATUSES.includes(snapshot.status)) {
            send("end", { status: snapshot.status });
            break;
          }
          if (Date.now() - lastKeepalive > KEEPALIVE_MS) {
            controller.enqueue(encoder.encode(": keepalive\n\n"));
            lastKeepalive = Date.now();
          }
          await new Promise((r) => setTimeout(r, POLL_MS));
          snapshot = await getBuild(db, actor, buildId);
        }
      } catch (err) {
        if (!signal.aborted) send("error", { message: (err as Error).message });
      } finally {
        try {
          controller.close();
        } catch {
          // the client went away first
        }
      }
    },
  });
}
