// Cancel requests reach the worker running the build at once (PostgreSQL LISTEN/NOTIFY), not at its next heartbeat.
// The heartbeat still reads cancelRequestedAt, so a lost notification or connection only costs the beat's latency.
import { sql } from "drizzle-orm";
import type pg from "pg";
import type { DbOrTx } from "../db";
import { listen } from "../jobs/wake";

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
  const stop = listen(
    pool,
    BUILD_CANCEL_CHANNEL,
    (buildId) => {
      for (const onCancel of watchers.get(buildId) ?? []) onCancel();
    },
    log,
    { what: "cancelled builds", meanwhile: "the heartbeat reads cancels" },
  );
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
    stop,
  };
}
