// The job-handler wrapper, one per entry kind (like withApi for routes): runs a pg-boss job, decides in one place
// (isRetryable) whether a failure is an outage that pg-boss retries with backoff or a final one, and records either
// on the job's row, so no build or disk image is left waiting for a job that will never run.
import type PgBoss from "pg-boss";
import { and, eq, inArray, sql } from "drizzle-orm";
import type { Db, DbOrTx } from "../db";
import { buildPackages, builds, diskImages } from "../db/schema";
import { bossDb, QUEUES, type BuildJob, type QueueName } from "./boss";
import type { DiskImageJob } from "../disk-images/disk-images";

/** Transport failures that mean "nobody answers there" (engine socket, registry, token server): an outage, not a fault. */
const OUTAGE_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN", "UND_ERR_SOCKET", "UND_ERR_CONNECT_TIMEOUT"]);
const OUTAGE_MESSAGE = /connect ECONNREFUSED|read ECONNRESET|socket hang up|other side closed/i;

/**
 * Whether a failure is an outage worth retrying. Typed errors say so themselves (`retryable`: the engine or the
 * registry is unreachable → true; a step exited non-zero, a timeout, a cancel, refused credentials → false); an
 * untyped error is an outage when it (or its cause) is a refused or reset connection. Everything else is final.
 */
export function isRetryable(err: unknown): boolean {
  const seen = new Set<unknown>();
  const visit = (e: unknown): boolean | undefined => {
    if (!e || typeof e !== "object" || seen.has(e)) return undefined;
    seen.add(e);
    const typed = (e as { retryable?: unknown }).retryable;
    if (typeof typed === "boolean") return typed;
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && OUTAGE_CODES.has(code)) return true;
    // Node's connection attempts to several addresses fail as one AggregateError.
    for (const inner of (e as { errors?: unknown }).errors instanceof Array ? (e as { errors: unknown[] }).errors : []) {
      const verdict = visit(inner);
      if (verdict !== undefined) return verdict;
    }
    const cause = visit((e as { cause?: unknown }).cause);
    if (cause !== undefined) return cause;
    return OUTAGE_MESSAGE.test(String((e as { message?: unknown }).message ?? "")) || undefined;
  };
  return visit(err) ?? false;
}

/** The message a user reads for a failure; a failed query is told in the database's words, not by its SQL. */
export function failureReason(err: unknown): string {
  if (err instanceof Error && err.message.startsWith("Failed query:") && err.cause !== undefined) return `a database query failed: ${failureReason(err.cause)}`;
  return err instanceof Error ? err.message : String(err);
}

/** What the wrapper tells a handler about the attempt it runs. */
export interface JobAttempt {
  jobId: string;
  /** 1 for the first run of this job. */
  number: number;
  /** Retries pg-boss has left after this attempt. */
  retriesLeft: number;
  /** Whether `err` ends in a retry rather than a failure: an outage (isRetryable), with retries left. */
  willRetry(err: unknown): boolean;
  /**
   * In the caller's transaction: hands the job back to pg-boss, which runs it again after its delay (retryDelay,
   * doubled each time with retryBackoff). Returns when that is, or null when the job is not retried after all
   * (cancelled meanwhile). The row's own state goes in the same transaction, so the two cannot disagree.
   */
  retry(tx: DbOrTx, reason: string): Promise<Date | null>;
  /**
   * In the caller's transaction: sends the job again to start in `seconds` (same data and priority, the same
   * retries left) and returns the new job's id. This job then ends without using an attempt.
   */
  postpone(tx: DbOrTx, seconds: number): Promise<string>;
}

/** One entry kind: its queue, and how its rows record what the wrapper decides when the handler itself could not. */
export interface JobKind<T> {
  queue: QueueName;
  /** "build 1f3…", for the worker's log. */
  describe(data: T): string;
  /** A final failure the handler threw instead of recording (e.g. the claim's query failed): the row ends failed. */
  giveUp(db: Db, data: T, reason: string): Promise<void>;
  /** A retry after the handler threw an outage: the row says when and why (in the transaction that fails the job). */
  retrying(tx: DbOrTx, data: T, retry: { at: Date; reason: string }): Promise<void>;
}

export interface JobContext {
  boss: PgBoss;
  db: Db;
  log: (msg: string) => void;
}

export type JobHandler<T> = (data: T, attempt: JobAttempt) => Promise<string | void>;

/**
 * Wraps a handler for pg-boss (batch size 1, with the job's retry metadata). The handler records its own outcome on
 * the row; what it throws is classified here: an outage with retries left goes back to pg-boss with its delay, and
 * anything else fails the row at once with the reason. The job itself then ends completed (the row holds the
 * outcome), or waits in pg-boss's `retry` state.
 */
export function withJob<T>(ctx: JobContext, kind: JobKind<T>, handler: JobHandler<T>) {
  const { boss, db, log } = ctx;
  return async ([job]: PgBoss.JobWithMetadata<T>[]): Promise<unknown> => {
    const name = kind.describe(job.data);
    const retriesLeft = Math.max(0, (job.retryLimit ?? 0) - (job.retryCount ?? 0));
    const attempt: JobAttempt = {
      jobId: job.id,
      number: (job.retryCount ?? 0) + 1,
      retriesLeft,
      willRetry: (err) => retriesLeft > 0 && isRetryable(err),
      async retry(tx, reason) {
        await boss.fail(kind.queue, job.id, { message: reason }, { db: bossDb(tx) });
        const again = await boss.getJobById<T>(kind.queue, job.id, { db: bossDb(tx), includeArchive: false });
        return again?.state === "retry" ? new Date(again.startAfter) : null;
      },
      async postpone(tx, seconds) {
        const id = await boss.send(kind.queue, job.data as object, {
          db: bossDb(tx),
          priority: job.priority,
          retryLimit: retriesLeft,
          retryDelay: job.retryDelay,
          retryBackoff: job.retryBackoff,
          expireInSeconds: job.expireInSeconds,
        });
        if (!id) throw new Error(`pg-boss did not queue ${name} again`);
        // Its start time is set here rather than with send's startAfter: bossDb gives each use of a placeholder its
        // own parameter, and pg-boss's insert uses startAfter's three times, once as a timestamp.
        await tx.execute(sql`update pgboss.job set start_after = now() + make_interval(secs => ${seconds}) where name = ${kind.queue} and id = ${id}::uuid`);
        return id;
      },
    };
    log(`${name}: started${attempt.number > 1 ? ` (retry ${attempt.number - 1})` : ""}`);
    try {
      const outcome = await handler(job.data, attempt);
      log(`${name}: ${outcome || "done"}`);
      return outcome ? { outcome } : undefined;
    } catch (err) {
      const reason = failureReason(err);
      if (attempt.willRetry(err)) {
        try {
          const at = await db.transaction(async (tx) => {
            const due = await attempt.retry(tx, reason);
            if (due) await kind.retrying(tx, job.data, { at: due, reason });
            return due;
          });
          if (at) {
            log(`${name}: ${reason}; retrying at ${at.toISOString()} (${retriesLeft - 1} more retries after that)`);
            // pg-boss's own completion finds the job in `retry` and leaves it there.
            return { outcome: "retrying", reason };
          }
        } catch (writeErr) {
          // The database is unreachable too: pg-boss fails the job and retries it on its own settings.
          log(`${name}: ${reason}; recording the retry failed (${failureReason(writeErr)})`);
          throw err;
        }
      }
      log(`${name}: failed: ${reason}`);
      await kind.giveUp(db, job.data, reason).catch((writeErr) => log(`${name}: recording the failure failed: ${failureReason(writeErr)}`));
      return { outcome: "failed", reason };
    }
  };
}

/**
 * Registers a wrapped handler on its queue. pg-boss 10 runs one job at a time per registration and has no
 * local-concurrency option (batchSize would hold finished slots until the whole batch ends), so `slots` concurrent
 * jobs are `slots` registrations of the same handler. Returns their ids (for notifyWorker).
 */
export async function workJobs<T>(ctx: JobContext, kind: JobKind<T>, handler: JobHandler<T>, opts: { slots?: number; pollingIntervalSeconds?: number } = {}): Promise<string[]> {
  const wrapped = withJob(ctx, kind, handler);
  const ids: string[] = [];
  for (let slot = 0; slot < Math.max(1, opts.slots ?? 1); slot++)
    ids.push(await ctx.boss.work<T>(kind.queue, { batchSize: 1, includeMetadata: true, pollingIntervalSeconds: opts.pollingIntervalSeconds ?? 1 }, wrapped));
  return ids;
}

/** Builds: a final failure fails the row (and its unfinished packages); a retry says when and why. */
export const buildJobs: JobKind<BuildJob> = {
  queue: QUEUES.build,
  describe: (data) => `build ${data.buildId}`,
  async giveUp(db, { buildId }, reason) {
    await db.transaction(async (tx) => {
      const failed = await tx
        .update(builds)
        .set({
          status: "failed",
          phase: null,
          phaseDetail: null,
          retryAt: null,
          finishedAt: new Date(),
          error: `The worker could not run this build: ${reason}. Press Retry to build it again.`,
        })
        .where(and(eq(builds.id, buildId), inArray(builds.status, ["queued", "running"])))
        .returning({ id: builds.id });
      if (failed.length) await tx.update(buildPackages).set({ status: "cancelled" }).where(and(eq(buildPackages.buildId, buildId), inArray(buildPackages.status, ["pending", "running"])));
    });
  },
  async retrying(tx, { buildId }, retry) {
    await tx.update(builds).set({ retryAt: retry.at, retryReason: retry.reason }).where(and(eq(builds.id, buildId), eq(builds.status, "queued")));
  },
};

/** Disk images record their own failures; this covers what their handler throws (pg-boss does not retry them). */
export const diskImageJobs: JobKind<DiskImageJob> = {
  queue: QUEUES.diskImage,
  describe: (data) => `disk image ${data.diskImageId}`,
  async giveUp(db, { diskImageId }, reason) {
    await db
      .update(diskImages)
      .set({ status: "failed", phaseDetail: null, finishedAt: new Date(), error: `The worker could not make this disk image: ${reason}. Ask for it again.` })
      .where(and(eq(diskImages.id, diskImageId), inArray(diskImages.status, ["queued", "running"])));
  },
  async retrying() {
    // Not retried (queueRetryOptions gives the queue no retries).
  },
};
