// Server-sent events of one build: a snapshot, then new log lines and state changes until the build ends.
// Reads the database (not process memory), so any web process can serve any build and a reload resumes from
// Last-Event-ID; it reads only when the database announced a change (lib/builds/live.ts) and only as fast as the
// client takes what was sent.
import { and, asc, eq, gt } from "drizzle-orm";
import type { Db } from "../db";
import type { Actor } from "../auth/actor";
import { buildLogs, TERMINAL_STATUSES } from "../db/schema";
import { config } from "../config";
import { getBuild } from "./builds";
import { liveBuildEvents, liveCounters, type LiveBuildEvents, type WakeKind } from "./live";
import { shownBuild, type BuildItemJson } from "./view";

const KEEPALIVE_MS = 15_000;
/** Lines a `log` event carries at most; the next page is read when the client has taken this one. */
export const LOG_PAGE_LINES = 500;
/** A stream reads the database at most this often, however many notifications arrive (≤ 5 reads a second). */
const MIN_READ_INTERVAL_MS = 200;

export type BuildSnapshot = Awaited<ReturnType<typeof getBuild>>;

/**
 * What decides whether a snapshot is news: everything the page can show — status, phase and its detail, each
 * package's status, step, timings and artefact (which lands while the build still runs) — but not the heartbeat,
 * which the worker rewrites every second and which would turn every poll into an event (the shown build leaves it
 * out), nor the log byte and line counters, which every log batch moves (the `log` events carry the lines themselves).
 */
export function buildChangeKey(snapshot: BuildSnapshot | BuildItemJson): string {
  const { logBytes: _bytes, logLines: _lines, ...shown } = "heartbeatAt" in snapshot ? shownBuild(snapshot) : snapshot;
  return JSON.stringify(shown);
}

export interface BuildEventStreamOptions {
  /** The hub and slots to use; the process's own when absent. */
  live?: LiveBuildEvents;
  /** Open streams a user may have; STRATA_MAX_STREAMS_PER_USER when absent. */
  maxStreamsPerUser?: number;
}

/**
 * Authorises (a bad id is a 404, a user over the cap a 429, both before any byte is streamed), then returns the
 * stream. Its `pull` sends one event at a time: the next page of lines is read only when the client has taken the
 * previous event, so a slow client makes the server read less rather than buffer more.
 */
export async function buildEventStream(db: Db, actor: Actor, buildId: string, lastEventId: number, signal: AbortSignal, opts: BuildEventStreamOptions = {}): Promise<ReadableStream<Uint8Array>> {
  const live = opts.live ?? liveBuildEvents();
  let stateChanged = false;
  let logsPending = true;
  let wake: (() => void) | null = null;
  // Subscribed before the first read, so a change between that read and the subscription is not missed.
  const unsubscribe = live.hub.subscribe(buildId, (kind: WakeKind) => {
    if (kind === "state") stateChanged = true;
    logsPending = true;
    wake?.();
  });
  let snapshot: BuildSnapshot;
  let release: () => void;
  try {
    snapshot = await getBuild(db, actor, buildId);
    release = live.slots.acquire(actor.user.id, opts.maxStreamsPerUser ?? config.maxStreamsPerUser);
  } catch (err) {
    unsubscribe();
    throw err;
  }

  let closed = false;
  const finish = () => {
    if (closed) return;
    closed = true;
    unsubscribe();
    release();
    signal.removeEventListener("abort", finish);
    wake?.();
  };
  signal.addEventListener("abort", finish);
  if (signal.aborted) finish();

  const encoder = new TextEncoder();
  const event = (name: string, data: unknown, id?: number) => `${id !== undefined ? `id: ${id}\n` : ""}event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
  /** Resolves true on a wake (or close), false when `ms` passed quietly. */
  const nextWake = (ms: number) =>
    new Promise<boolean>((resolve) => {
      if (stateChanged || logsPending || closed) return resolve(true);
      const timer = setTimeout(() => {
        wake = null;
        resolve(false);
      }, ms);
      wake = () => {
        clearTimeout(timer);
        wake = null;
        resolve(true);
      };
    });

  let after = lastEventId;
  let lastShown = "";
  let preamble = "retry: 2000\n\n";
  let lastRead = 0;
  /** The last page of lines was full: more are waiting, read without pause (as fast as the client takes them). */
  let backlog = false;
  const close = (controller: ReadableStreamDefaultController<Uint8Array>) => {
    try {
      controller.close();
    } catch {
      // the client went away first
    }
    finish();
  };

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const send = (text: string) => {
          controller.enqueue(encoder.encode(preamble + text));
          preamble = "";
        };
        try {
          for (;;) {
            if (closed) return close(controller);
            // A flood of notifications costs at most one round of reads per interval; a backlog of full pages is
            // read as fast as the client takes them.
            if ((stateChanged || logsPending) && !backlog) {
              const wait = lastRead + MIN_READ_INTERVAL_MS - Date.now();
              if (wait > 0) await new Promise((r) => setTimeout(r, wait));
              if (closed) return close(controller);
            }
            if (stateChanged || logsPending) lastRead = Date.now();
            if (stateChanged) {
              // Cleared before the read: a notification during the read sets it again.
              stateChanged = false;
              snapshot = await getBuild(db, actor, buildId);
              liveCounters.snapshots++;
            }
            // The event carries the build as GET /api/v1/builds/{id} shapes it: no worker, job or heartbeat.
            const build = shownBuild(snapshot);
            const shown = buildChangeKey(build);
            if (shown !== lastShown) {
              lastShown = shown;
              return send(event("build", build));
            }
            if (logsPending) {
              logsPending = false;
              const lines = await db
                .select({ id: buildLogs.id, packageId: buildLogs.packageId, line: buildLogs.line })
                .from(buildLogs)
                .where(and(eq(buildLogs.buildId, snapshot.id), after > 0 ? gt(buildLogs.id, after) : undefined))
                .orderBy(asc(buildLogs.id))
                .limit(LOG_PAGE_LINES);
              liveCounters.logPages++;
              backlog = lines.length === LOG_PAGE_LINES;
              if (backlog) logsPending = true;
              if (lines.length > 0) {
                after = lines[lines.length - 1].id;
                return send(event("log", lines, after));
              }
            }
            // Lines are drained after the snapshot was read, so every line written before the build ended was sent.
            if (TERMINAL_STATUSES.includes(snapshot.status)) {
              send(event("end", { status: snapshot.status }));
              return close(controller);
            }
            if (!(await nextWake(KEEPALIVE_MS))) return send(": keepalive\n\n");
          }
        } catch (err) {
          if (!closed) {
            try {
              send(event("error", { message: (err as Error).message }));
            } catch {
              // closed meanwhile
            }
          }
          close(controller);
        }
      },
      cancel() {
        finish();
      },
    },
    // One event queued at most: the stream asks for the next only when the client has taken it.
    new CountQueuingStrategy({ highWaterMark: 1 }),
  );
}
