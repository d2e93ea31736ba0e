// Build log lines go to PostgreSQL in batches, so a chatty apt-get does not become one INSERT a line.
import type { Db } from "../db";
import { buildLogs } from "../db/schema";

export type LogWriter = ReturnType<typeof logWriter>;

/** Buffers log lines and writes them in batches, so a chatty apt-get does not become one INSERT a line. */
export function logWriter(db: Db, buildId: string) {
  let pending: Array<{ buildId: string; packageId: string | null; line: string }> = [];
  let flushing: Promise<void> = Promise.resolve();
  const flush = () => {
    if (pending.length === 0) return flushing;
    const batch = pending;
    pending = [];
    flushing = flushing.then(() => db.insert(buildLogs).values(batch).then(() => undefined)).catch((err) => console.error("[build] log write failed:", err.message));
    return flushing;
  };
  const timer = setInterval(flush, 300);
  return {
    flush,
    write(packageId: string | null, line: string) {
      // A single line cannot flood the table: long lines are cut.
      pending.push({ buildId, packageId, line: line.length > 8000 ? `${line.slice(0, 8000)}… (cut)` : line });
      if (pending.length >= 500) void flush();
    },
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}

