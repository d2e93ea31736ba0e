// Housekeeping of builds across workers: fail builds whose worker died, remove what builds left in the engine.
import fs from "node:fs";
import os from "node:os";
import type Dockerode from "dockerode";
import { and, eq, inArray, like, lt } from "drizzle-orm";
import type { Db } from "../db";
import { buildPackages, builds } from "../db/schema";
import { silentLogger, type Logger } from "../log";
import { listLeftovers, removeLeftover } from "./engine/images";

/** A running build whose heartbeat is older than this lost its worker. */
export const STALE_AFTER_MS = 60_000;

/** Marks running builds whose worker stopped beating as failed, so nobody waits on them forever. */
export async function reapStaleBuilds(db: Db, staleAfterMs = STALE_AFTER_MS): Promise<string[]> {
  const cutoff = new Date(Date.now() - staleAfterMs);
  const reaped = await db
    .update(builds)
    .set({ status: "failed", finishedAt: new Date(), error: `The worker running this build stopped (no heartbeat for ${Math.round(staleAfterMs / 1000)} s). Press Retry to build it again.` })
    .where(and(eq(builds.status, "running"), lt(builds.heartbeatAt, cutoff)))
    .returning({ id: builds.id });
  if (reaped.length) {
    const ids = reaped.map((r) => r.id);
    await db.update(buildPackages).set({ status: "cancelled" }).where(and(inArray(buildPackages.buildId, ids), inArray(buildPackages.status, ["pending", "running"])));
  }
  return reaped.map((r) => r.id);
}

/**
 * True when `workerId` (`<host>:<pid>`, see defaultWorkerId) names a process of this host that no longer exists: a
 * worker killed mid-build (SIGKILL, OOM, a crash). A zombie counts as gone. Another host's worker is never "gone" here.
 */
export function isLocalWorkerGone(workerId: string | null | undefined, host = os.hostname()): boolean {
  const match = workerId?.match(/^(.*):(\d+)$/);
  if (!match || match[1] !== host) return false;
  const pid = Number(match[2]);
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists, under another user.
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
  try {
    // "<pid> (<comm>) <state> …": a killed process whose parent has not reaped it yet is state Z.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z";
  } catch {
    return false;
  }
}

/**
 * Fails running builds whose worker ran on this host and whose process is gone, at once rather than after the
 * heartbeat reaper's minute: a restarted worker (or a sibling on the same machine) cleans up a killed one.
 */
export async function reapDeadLocalBuilds(db: Db, host = os.hostname()): Promise<string[]> {
  const running = await db
    .select({ id: builds.id, workerId: builds.workerId })
    .from(builds)
    .where(and(eq(builds.status, "running"), like(builds.workerId, `${host.replace(/[\\%_]/g, "\\$&")}:%`)));
  const reaped: string[] = [];
  for (const build of running) {
    if (!isLocalWorkerGone(build.workerId, host)) continue;
    const [row] = await db
      .update(builds)
      .set({ status: "failed", phase: null, phaseDetail: null, finishedAt: new Date(), error: `The worker running this build (${build.workerId}) stopped; press Retry to build it again.` })
      // The same worker still: a build claimed again meanwhile is not this one's to fail.
      .where(and(eq(builds.id, build.id), eq(builds.status, "running"), eq(builds.workerId, build.workerId!)))
      .returning({ id: builds.id });
    if (row) reaped.push(row.id);
  }
  if (reaped.length) {
    await db.update(buildPackages).set({ status: "cancelled" }).where(and(inArray(buildPackages.buildId, reaped), inArray(buildPackages.status, ["pending", "running"])));
  }
  return reaped;
}

/** Leftovers of builds another database knows (a test run beside `npm run up` on one engine) are left alone this long. */
export const FOREIGN_LEFTOVER_MS = 6 * 3600 * 1000;

/**
 * Managed containers and images no build owns (a dpkg-read container, the disk tools' container, an interrupted base
 * import) are removed once idle this long: whoever made them uses them within seconds, and they may be another
 * worker's on a shared engine.
 */
export const LOOSE_LEFTOVER_MS = 5 * 60_000;

/** How often a worker sweeps leftovers besides at start and after each build (workers/handlers.ts). */
export const SWEEP_INTERVAL_MS = 60_000;

export interface SweepOptions {
  log?: Logger;
  /** See LOOSE_LEFTOVER_MS. */
  looseAfterMs?: number;
  staleAfterMs?: number;
}

/**
 * Removes every container and temporary image of a build that is not running on a live worker: its status is not
 * running, or its heartbeat is stale, or its worker was a process of this host that is gone. Run at worker start,
 * after each build (for that build, see run-build.ts) and periodically. A build this database does not know may
 * belong to another Strata sharing the engine: only its old leftovers are removed. Returns what was removed.
 */
export async function sweepOrphans(db: Db, docker: Dockerode, logOrOpts: Logger | SweepOptions = {}): Promise<number> {
  const opts: SweepOptions = "debug" in logOrOpts && typeof logOrOpts.debug === "function" ? { log: logOrOpts as Logger } : (logOrOpts as SweepOptions);
  const log = opts.log ?? silentLogger;
  const now = Date.now();
  const leftovers = await listLeftovers(docker, { log });
  const buildIds = [...new Set(leftovers.flatMap((l) => (typeof l.owner === "object" ? [l.owner.build] : [])))];
  const uuids = buildIds.filter((id) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id));
  const known = uuids.length
    ? await db.select({ id: builds.id, status: builds.status, heartbeatAt: builds.heartbeatAt, workerId: builds.workerId }).from(builds).where(inArray(builds.id, uuids))
    : [];
  const staleBefore = now - (opts.staleAfterMs ?? STALE_AFTER_MS);
  const live = new Set(
    known.filter((b) => b.status === "running" && (b.heartbeatAt?.getTime() ?? 0) >= staleBefore && !isLocalWorkerGone(b.workerId)).map((b) => b.id),
  );
  const knownIds = new Set(known.map((b) => b.id));
  const looseBefore = now - (opts.looseAfterMs ?? LOOSE_LEFTOVER_MS);

  const doomed = leftovers.filter((l) => {
    if (l.owner === "loose") return l.state !== "running" && l.idleSince < looseBefore;
    if (live.has(l.owner.build)) return false;
    return knownIds.has(l.owner.build) || l.idleSince < now - FOREIGN_LEFTOVER_MS;
  });
  let removed = 0;
  // Containers first (listLeftovers lists them first): an image is in use while a container of it exists.
  for (const leftover of doomed) {
    try {
      if (await removeLeftover(docker, leftover, log)) removed++;
    } catch (err) {
      log.warn(`could not remove leftover ${leftover.kind} ${leftover.id.slice(0, 12)}: ${(err as Error).message}`);
    }
  }
  return removed;
}

export { artefactRoot } from "./artefact-store";
