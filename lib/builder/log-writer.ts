// Log lines go to PostgreSQL in batches, so a chatty apt-get does not become one INSERT a line (builds and disk images);
// a build's step output is metered against its output limits on the way.
import { sql, eq } from "drizzle-orm";
import type { Db } from "../db";
import { buildLogs, builds } from "../db/schema";
import { DEFAULT_OUTPUT_LIMITS, LIMIT_SETTINGS, OutputLimitError, type OutputLimits } from "./limits";

export type LogWriter = ReturnType<typeof logWriter>;

const MAX_LINE = 8000;
/** Lines buffered or being inserted past which a writer asks its producer to wait (see `push`). */
const HIGH_WATER_ROWS = 2000;
const HIGH_WATER_CHARS = 1024 * 1024;

/**
 * Buffers rows and inserts them in batches (every 300 ms, or at 500 rows), in order; a failed insert is reported, not
 * thrown, so a log never fails the work it records. Lines longer than 8000 characters are cut.
 *
 * `push` returns a promise when the rows not yet inserted pass a high-water mark: a producer that can wait (a
 * container's output stream) pauses until it settles, so a step printing faster than PostgreSQL takes its lines
 * cannot pile them up in the worker's memory. Producers that cannot wait may ignore it.
 */
export function batchedLines<Row extends { line: string }>(insert: (rows: Row[]) => Promise<unknown>, what: string) {
  let pending: Row[] = [];
  let pendingChars = 0;
  /** Rows handed to `insert` and not yet done, and their characters. */
  let inFlightRows = 0;
  let inFlightChars = 0;
  let flushing: Promise<void> = Promise.resolve();
  const flush = () => {
    if (pending.length === 0) return flushing;
    const batch = pending;
    const chars = pendingChars;
    pending = [];
    pendingChars = 0;
    inFlightRows += batch.length;
    inFlightChars += chars;
    flushing = flushing
      .then(() => insert(batch).then(() => undefined))
      .catch((err) => console.error(`[${what}] log write failed:`, (err as Error).message))
      .finally(() => {
        inFlightRows -= batch.length;
        inFlightChars -= chars;
      });
    return flushing;
  };
  const timer = setInterval(flush, 300);
  return {
    flush,
    /** Rows buffered or being inserted. */
    backlog: () => ({ rows: pending.length + inFlightRows, chars: pendingChars + inFlightChars }),
    push(row: Row): Promise<void> | undefined {
      // A single line cannot flood the table: long lines are cut.
      const line = row.line.length > MAX_LINE ? `${row.line.slice(0, MAX_LINE)}… (cut)` : row.line;
      pending.push(line === row.line ? row : { ...row, line });
      pendingChars += line.length;
      if (pending.length >= 500) void flush();
      if (pending.length + inFlightRows >= HIGH_WATER_ROWS || pendingChars + inFlightChars >= HIGH_WATER_CHARS) return flush();
      return undefined;
    },
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}

type BuildLogRow = { buildId: string; packageId: string | null; line: string; metered?: boolean };

/**
 * A build's log. `write` records the worker's own lines; `output` records what steps print, metered against the
 * build's output limits: past the total bytes or lines it throws OutputLimitError (the caller kills the container),
 * past the lines a second it drops lines, counts them and, at the end of each burst, says how many in the log. The
 * build row's logBytes / logLines / logDroppedLines follow with each batch of inserts.
 */
export function logWriter(db: Db, buildId: string, limits: OutputLimits = DEFAULT_OUTPUT_LIMITS) {
  // Dropped lines have no row: their count rides with the next batch.
  let droppedUnrecorded = 0;
  const lines = batchedLines<BuildLogRow>(async (rows) => {
    let bytes = 0;
    let kept = 0;
    for (const row of rows) {
      if (!row.metered) continue;
      kept++;
      bytes += Buffer.byteLength(row.line) + 1;
    }
    const dropped = droppedUnrecorded;
    droppedUnrecorded = 0;
    await db.insert(buildLogs).values(rows.map(({ buildId, packageId, line }) => ({ buildId, packageId, line })));
    if (kept > 0 || dropped > 0) {
      await db
        .update(builds)
        .set({ logBytes: sql`${builds.logBytes} + ${bytes}`, logLines: sql`${builds.logLines} + ${kept}`, logDroppedLines: sql`${builds.logDroppedLines} + ${dropped}` })
        .where(eq(builds.id, buildId));
    }
  }, "build");

  // Everything steps printed, kept or dropped: the totals count what was printed, so a flood that is mostly dropped
  // still ends at the limit instead of running until the deadline.
  let printedBytes = 0;
  let printedLines = 0;
  let exceeded: OutputLimitError | null = null;
  let windowStart = 0;
  let windowLines = 0;
  let burstDropped = 0;
  let lastDropAt = 0;

  const write = (packageId: string | null, line: string) => lines.push({ buildId, packageId, line });
  const endBurst = () => {
    if (burstDropped === 0) return;
    write(null, `[strata] ${burstDropped} lines dropped: the steps printed more than ${limits.linesPerSecond} lines a second (the limit, ${LIMIT_SETTINGS.linesPerSecond})`);
    burstDropped = 0;
  };
  // A burst ends when a second passes without a drop, whether more lines come or not.
  const burstTimer = setInterval(() => {
    if (burstDropped > 0 && Date.now() - lastDropAt >= 1000) endBurst();
  }, 500);

  return {
    write,
    output(packageId: string, line: string): Promise<void> | undefined {
      if (exceeded) throw exceeded;
      // Characters, not UTF-8 bytes: counting bytes a line would cost more than the line; they differ little in logs.
      printedBytes += line.length + 1;
      printedLines++;
      if (printedBytes > limits.maxBytes) exceeded = new OutputLimitError(packageId, "bytes", limits.maxBytes);
      else if (printedLines > limits.maxLines) exceeded = new OutputLimitError(packageId, "lines", limits.maxLines);
      if (exceeded) {
        endBurst();
        throw exceeded;
      }
      const now = Date.now();
      if (now - windowStart >= 1000) {
        windowStart = now;
        windowLines = 0;
      }
      if (++windowLines > limits.linesPerSecond) {
        burstDropped++;
        droppedUnrecorded++;
        lastDropAt = now;
        return undefined;
      }
      if (burstDropped > 0 && now - lastDropAt >= 1000) endBurst();
      return lines.push({ buildId, packageId, line, metered: true });
    },
    /** What steps printed so far, kept or dropped. */
    printed: () => ({ bytes: printedBytes, lines: printedLines }),
    backlog: lines.backlog,
    /** Writes everything buffered (and the count of a burst of dropped lines that is still going on). */
    flush() {
      endBurst();
      return lines.flush();
    },
    async close() {
      clearInterval(burstTimer);
      endBurst();
      await lines.close();
    },
  };
}
