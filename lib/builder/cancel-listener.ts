// Cancel requests reach the worker running the build at once (PostgreSQL LISTEN/NOTIFY), not at its next heartbeat.
// The heartbeat still reads cancelRequestedAt, so a lost notification or connection only costs the beat's latency.
import { sql } from "drizzle-orm";
import type pg from "pg";
import type { DbOrTx } from "../db";

export const BUILD_CANCEL_CHANNEL = "strata_build_cancel";

/** Inside the transaction that records the cancel request: PostgreSQL delivers the notification only when it commits. */
export async function notifyBuildCancel(tx: DbOrTx, buildId: string): Promise<void> {
  await tx.execute(sql`select pg_notify(${BUILD_CANCEL_CHANNEL}, ${buildId})`);
}

export interface CancelListener {
  /** Calls `onCancel` when a cancel of `buildId` is announced; returns the function that stops watching. */
  watch(buildId: string, onCancel: () => void): () => void;
  stop(): Promise<void>;
}

/** One LISTEN connection a worker, shared by its running builds; reconnects after a lost connection. */
export function listenForCancels(pool: pg.Pool, log: (msg: string) => void): CancelListener {
  const watchers = new Map<string, Set<() => void>>();
  let client: pg.PoolClient | null = null;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  const connect = async () => {
    if (stopped) return;
    try {
      const c = await pool.connect();
      c.on("notification", (n) => {
        if (n.channel !== BUILD_CANCEL_CHANNEL || !n.payload) return;
        for (const onCancel of watchers.get(n.payload) ?? []) onCancel();
      });
      c.on("error", (err) => {
        log(`listening for cancelled builds: ${err.message}; the heartbeat reads cancels until it reconnects`);
        c.release(err);
        if (client === c) client = null;
        if (!stopped) retry = setTimeout(connect, 5_000);
      });
      await c.query(`LISTEN ${BUILD_CANCEL_CHANNEL}`);
      if (stopped) {
        c.release();
        return;
      }
      client = c;
    } catch (err) {
      log(`listening for cancelled builds failed: ${(err as Error).message}; the heartbeat reads cancels until it works`);
      if (!stopped) retry = setTimeout(connect, 5_000);
    }
  };
  void connect();
  return {
    watch(buildId, onCancel) {
      const set = watchers.get(buildId) ?? new Set();
      set.add(onCancel);
      watchers.set(buildId, set);
      return () => {
        set.delete(onCancel);
        if (set.size === 0 && watchers.get(buildId) === set) watchers.delete(buildId);
      };
    },
    async stop() {
      stopped = true;
      clearTimeout(retry);
      const c = client;
      client = null;
      if (c) {
        await c.query(`UNLISTEN ${BUILD_CANCEL_CHANNEL}`).catch(() => {});
        c.release();
      }
    },
  };
}
