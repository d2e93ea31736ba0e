// Housekeeping of builds across workers: fail builds whose worker died, remove what builds left in the engine.
import type Dockerode from "dockerode";
import { and, eq, inArray, lt } from "drizzle-orm";
import type { Db } from "../db";
import { buildPackages, builds } from "../db/schema";
import { silentLogger, type Logger } from "../log";
import { LABEL, sweepLeftovers } from "./engine/images";

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

/** Containers of builds another database knows (a test run beside `npm run up` on one engine) are left alone this long. */
const FOREIGN_LEFTOVER_MS = 6 * 3600 * 1000;

/**
 * At worker start: remove containers and intermediates of builds that are not running any more. A build this
 * database does not know may belong to another Strata sharing the engine; only its old leftovers are removed.
 */
export async function sweepOrphans(db: Db, docker: Dockerode, log: Logger = silentLogger): Promise<number> {
  const containers = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${LABEL.managed}=1`] }) });
  const buildIds = [...new Set(containers.map((c) => c.Labels?.[LABEL.build]).filter((id): id is string => Boolean(id)))];
  if (buildIds.length === 0) return 0;
  const uuids = buildIds.filter((id) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id));
  const known = uuids.length ? await db.select({ id: builds.id, status: builds.status }).from(builds).where(inArray(builds.id, uuids)) : [];
  const status = new Map(known.map((b) => [b.id, b.status]));
  let removed = 0;
  for (const id of buildIds) {
    const state = status.get(id);
    if (state === "running" || state === "queued") continue;
    const result = await sweepLeftovers(docker, { buildId: id, log, olderThan: state ? undefined : new Date(Date.now() - FOREIGN_LEFTOVER_MS) });
    removed += result.containers.length;
  }
  return removed;
}

export { artefactRoot } from "./artefact-store";
