// The from-scratch schedule: flavours that ask for it get their latest revision rebuilt without the cache every N days,
// so packages pick up what a cached layer never sees (Debian security updates behind a cached `apt-get upgrade`).
import { and, eq, inArray, sql } from "drizzle-orm";
import type PgBoss from "pg-boss";
import type { Db } from "../db";
import { auditLog, builds, flavours } from "../db/schema";
import { getRevisionRow } from "../flavours/flavours";
import { enqueueBuild, QueueFullError } from "./builds";

/** How often workers look for due flavours; a rebuild starts at most this late. */
export const SCRATCH_SCHEDULE_POLL_MS = 60_000;

export interface ScheduledRebuild {
  flavourId: string;
  /** The build started; null when a from-scratch build of the flavour was already queued or running (it counts). */
  buildId: string | null;
}

/**
 * Starts a from-scratch build of the latest revision of every due flavour (not archived, schedule on, an interval
 * since the last one). Each flavour is claimed by moving its clock in the transaction that enqueues its build, with
 * SKIP LOCKED, so several workers running this at once start one build a due flavour. A flavour with a from-scratch
 * build already queued or running has its clock moved without a second build: that build is this period's rebuild.
 * An organisation at its cap of queued builds (STRATA_ORG_MAX_QUEUED) is skipped for the round, its clocks unmoved:
 * its due rebuilds start in a later round, once some of its builds have left the queue.
 */
export async function startDueScratchRebuilds(db: Db, opts: { boss?: PgBoss; now?: Date; log?: (msg: string) => void } = {}): Promise<ScheduledRebuild[]> {
  const now = opts.now ?? new Date();
  const started: ScheduledRebuild[] = [];
  // Flavours that failed this round are not claimed again until the next one (no tight loop on a broken flavour).
  const failed: string[] = [];
  const fullOrgs: string[] = [];
  for (;;) {
    let claimedId: string | null = null;
    let claimedOrgId: string | null = null;
    try {
      const outcome = await db.transaction(async (tx) => {
        const [claimed] = await tx
          .update(flavours)
          .set({ scratchRebuildFrom: now })
          .where(
            sql`${flavours.id} = (
              select f.id from ${flavours} f
              where f.scratch_rebuild_days is not null and f.scratch_rebuild_from is not null and f.archived_at is null
                and f.scratch_rebuild_from + f.scratch_rebuild_days * interval '1 day' <= ${now}
                ${failed.length ? sql`and f.id <> all(${sql.param(failed)}::uuid[])` : sql``}
                ${fullOrgs.length ? sql`and f.org_id <> all(${sql.param(fullOrgs)}::uuid[])` : sql``}
              order by f.scratch_rebuild_from
              limit 1
              for update skip locked)`,
          )
          .returning();
        if (!claimed) return null;
        claimedId = claimed.id;
        claimedOrgId = claimed.orgId;
        const [inFlight] = await tx
          .select({ id: builds.id })
          .from(builds)
          .where(and(eq(builds.flavourId, claimed.id), eq(builds.fromScratch, true), inArray(builds.status, ["queued", "running"])))
          .limit(1);
        if (inFlight) return { flavourId: claimed.id, buildId: null };
        const revision = await getRevisionRow(tx, claimed.id);
        const build = await enqueueBuild(tx, null, claimed, revision.number, { fromScratch: true, scheduled: true, boss: opts.boss });
        await tx.insert(auditLog).values({
          orgId: claimed.orgId,
          actorUserId: null,
          action: "build.start-scheduled",
          subject: build.id,
          detail: { flavourId: claimed.id, flavour: claimed.name, revision: revision.number, fromScratch: true, everyDays: claimed.scratchRebuildDays },
        });
        return { flavourId: claimed.id, buildId: build.id };
      });
      if (!outcome) return started;
      started.push(outcome);
      opts.log?.(
        outcome.buildId
          ? `flavour ${outcome.flavourId}: started the scheduled from-scratch build ${outcome.buildId}`
          : `flavour ${outcome.flavourId}: a from-scratch build is already queued or running; it counts as the scheduled one`,
      );
    } catch (err) {
      if (!claimedId) throw err;
      if (err instanceof QueueFullError && claimedOrgId) {
        fullOrgs.push(claimedOrgId);
        opts.log?.(
          `organisation ${claimedOrgId} has ${err.maxQueued} builds waiting (the limit, STRATA_ORG_MAX_QUEUED): its due from-scratch rebuilds (flavour ${claimedId} first) wait for a later round`,
        );
        continue;
      }
      failed.push(claimedId);
      opts.log?.(`flavour ${claimedId}: could not start the scheduled from-scratch build: ${(err as Error).message}`);
    }
  }
}
