// Log lines go to PostgreSQL in batches, so a chatty apt-get does not become one INSERT a line (builds and disk images).
import type { Db } from "../db";
import { buildLogs } from "../db/schema";

export type LogWriter = ReturnType<typeof logWriter>;

/**
 * Buffers rows and inserts them in batches (every 300 ms, or at 500 rows), in order; a failed insert is reported, not
 * thrown, so a log never fails the work it records. Lines longer than 8000 characters are cut.
 */
export function batchedLines<Row extends { line: string }>(insert: (rows: Row[]) => Promise<unknown>, what: string) {
  let pending: Row[] = [];
  let flushing: Promise<void> = Promise.resolve();
  const flush = () => {
    if (pending.length === 0) return flushing;
    const batch = pending;
    pending = [];
    flushing = flushing.then(() => insert(batch).then(() => undefined)).catch((err) => console.error(`[${what}] log write failed:`, err.message));
    return flushing;
  };
  const timer = setInterval(flush, 300);
  return {
    flush,
    push(row: Row) {
      // A single line cannot flood the table: long lines are cut.
      pending.push({ ...row, line: row.line.length > 8000 ? `${row.line.slice(0, 8000)}… (cut)` : row.line });
      if (pending.length >= 500) void flush();
    },
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}

/** A build's log. */
export function logWriter(db: Db, buildId: string) {
  const lines = batchedLines<{ buildId: string; packageId: string | null; line: string }>((rows) => db.insert(buildLogs).values(rows), "build");
  return {
    flush: lines.flush,
    write: (packageId: string | null, line: string) => lines.push({ buildId, packageId, line }),
    close: lines.close,
  };
}
