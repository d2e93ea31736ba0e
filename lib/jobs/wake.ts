// Wakes workers the moment something happens (PostgreSQL LISTEN/NOTIFY) instead of at their next poll: a build queued,
// a cancel asked for. Polling stays as the fallback, so a lost notification or connection only costs the old latency.
import { sql } from "drizzle-orm";
import type pg from "pg";
import type { DbOrTx } from "../db";

export const BUILD_QUEUED_CHANNEL = "strata_build_queued";

/** Inside the transaction that queues the build: PostgreSQL delivers the notification only when it commits. */
export async function notifyBuildQueued(tx: DbOrTx, buildId: string): Promise<void> {
  await tx.execute(sql`select pg_notify(${BUILD_QUEUED_CHANNEL}, ${buildId})`);
}

/**
 * Holds a pool connection LISTENing on `channel` and calls `onPayload` for each notification; reconnects 5 s after a
 * lost connection. `what` and `meanwhile` make its log lines ("listening for <what>: …; <meanwhile>"). Returns the
 * function that stops listening and gives the connection back.
 */
export function listen(pool: pg.Pool, channel: string, onPayload: (payload: string) => void, log: (msg: string) => void, words: { what: string; meanwhile: string }): () => Promise<void> {
  let client: pg.PoolClient | null = null;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  const connect = async () => {
    if (stopped) return;
    try {
      const c = await pool.connect();
      c.on("notification", (n) => n.channel === channel && onPayload(n.payload ?? ""));
      c.on("error", (err) => {
        log(`listening for ${words.what}: ${err.message}; ${words.meanwhile} until it reconnects`);
        c.release(err);
        if (client === c) client = null;
        if (!stopped) retry = setTimeout(connect, 5_000);
      });
      await c.query(`LISTEN ${channel}`);
      if (stopped) {
        c.release();
        return;
      }
      client = c;
    } catch (err) {
      log(`listening for ${words.what} failed: ${(err as Error).message}; ${words.meanwhile} until it works`);
      if (!stopped) retry = setTimeout(connect, 5_000);
    }
  };
  void connect();
  return async () => {
    stopped = true;
    clearTimeout(retry);
    const c = client;
    client = null;
    if (c) {
      await c.query(`UNLISTEN ${channel}`).catch(() => {});
      c.release();
    }
  };
}

/** Calls `onQueued` for every build queued from now on. Returns a stop function. */
export function listenForQueuedBuilds(pool: pg.Pool, onQueued: (buildId: string) => void, log: (msg: string) => void): () => Promise<void> {
  return listen(pool, BUILD_QUEUED_CHANNEL, onQueued, log, { what: "queued builds", meanwhile: "polling" });
}
