// Queued builds no worker will ever start: their pg-boss job is gone, failed, cancelled or finished while the row
// still says queued (a worker died between its claim and its bookkeeping, a job was deleted by hand). Failed with
// the reason, so nobody waits on them; the running-build reaper (lib/builder/housekeeping.ts) covers the others.
import { and, eq, inArray, sql } from "drizzle-orm";
import type { Db, DbOrTx } from "../db";
import { buildPackages, builds } from "../db/schema";
import { QUEUES } from "../jobs/boss";

/** A queued build younger than this is left alone, whatever its job says (a margin for any enqueue path's commit). */
export const ORPHAN_AFTER_MS = 30_000;

type JobState = "created" | "retry" | "active" | "completed" | "cancelled" | "failed";

/** Queued builds (older than `olderThanMs`) whose job will not run: the state of that job, null when it is gone. */
async function orphans(db: DbOrTx, olderThanMs: number, buildId?: string): Promise<Array<{ id: string; state: JobState | null }>> {
  const result = await db.execute<{ id: string; state: JobState | null }>(sql`
    select b.id, j.state::text as state
    from ${builds} b
    left join pgboss.job j
      on j.name = ${QUEUES.build}
     and j.id = case when b.job_id ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then b.job_id::uuid end
    where b.status = 'queued'
      and b.kind = 'build'
      and b.created_at < now() - make_interval(secs => ${olderThanMs / 1000})
      and (j.id is null or j.state in ('completed', 'cancelled', 'failed'))
      ${buildId ? sql`and b.id = ${buildId}` : sql``}
  `);
  return result.rows;
}

const reason = (state: JobState | null) =>
  `No worker was going to start this build: its job ${state === null ? "is no longer in the queue" : `ended ${state === "completed" ? "without running it" : state}`}. ` +
  "Press Retry to build it again.";

/** Fails queued builds whose job will not run; returns their ids. Run beside reapStaleBuilds. */
export async function reapOrphanedQueuedBuilds(db: Db, olderThanMs = ORPHAN_AFTER_MS): Promise<string[]> {
  const reaped: string[] = [];
  for (const candidate of await orphans(db, olderThanMs)) {
    const failed = await db.transaction(async (tx) => {
      // Under the row's lock, looked at again: a worker may have queued its job anew (postponed it) since.
      const [locked] = await tx.select({ id: builds.id }).from(builds).where(and(eq(builds.id, candidate.id), eq(builds.status, "queued"))).for("update");
      if (!locked) return false;
      const [still] = await orphans(tx, olderThanMs, candidate.id);
      if (!still) return false;
      await tx
        .update(builds)
        .set({ status: "failed", finishedAt: new Date(), retryAt: null, phaseDetail: null, error: reason(still.state) })
        .where(eq(builds.id, candidate.id));
      await tx.update(buildPackages).set({ status: "cancelled" }).where(and(eq(buildPackages.buildId, candidate.id), inArray(buildPackages.status, ["pending", "running"])));
      return true;
    });
    if (failed) reaped.push(candidate.id);
  }
  return reaped;
}
