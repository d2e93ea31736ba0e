// Wakes idle workers the moment a build is queued (PostgreSQL LISTEN/NOTIFY), instead of at their next poll.
// Polling stays as the fallback, so a lost notification or connection only costs the old latency.
import { sql } from "drizzle-orm";
import type pg from "pg";
import type { DbOrTx } from "../db";

export const BUILD_QUEUED_CHANNEL = "strata_build_queued";

/** Inside the transaction that queues the build: PostgreSQL delivers the notification only when it commits. */
export async function notifyBuildQueued(tx: DbOrTx, buildId: string): Promise<void> {
  await tx.execute(sql`select pg_notify(${BUILD_QUEUED_CHANNEL}, ${buildId})`);
}

/** Calls `onQueued` for every build queued from now on; reconnects after a lost connection. Returns a stop function. */
export function listenForQueuedBuilds(pool: pg.Pool, onQueued: (buildId: string) => void, log: (msg: string) => void): () => Promise<void> {
  let client: pg.PoolClient | null = null;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  const connect = async () => {
    if (stopped) return;
    try {
      const c = await pool.connect();
      c.on("notification", (n) => n.channel === BUILD_QUEUED_CHANNEL && onQueued(n.payload ?? ""));
      c.on("error", (err) => {
        log(`listening for queued builds: ${err.message}; polling until it reconnects`);
        c.release(err);
        if (client === c) client = null;
        retry = setTimeout(connect, 5_000);
      });
      await c.query(`LISTEN ${BUILD_QUEUED_CHANNEL}`);
      client = c;
    } catch (err) {
      log(`listening for queued builds failed: ${(err as Error).message}; polling until it works`);
      retry = setTimeout(connect, 5_000);
    }
  };
  void connect();
  return async () => {
    stopped = true;
    clearTimeout(retry);
    const c = client;
    client = null;
    if (c) {
      await c.query(`UNLISTEN ${BUILD_QUEUED_CHANNEL}`).catch(() => {});
      c.release();
    }
  };
}
