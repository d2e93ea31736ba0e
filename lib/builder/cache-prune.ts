// Pruning of the build cache: engine images tagged strata-cache:<key> and the shared cache's tags in the registry whose
// key no build used for STRATA_CACHE_MAX_AGE_DAYS, except what published and running builds depend on. One run at a
// time across workers (an advisory lock); each run is a row of cache_prunes, which the admin area shows.
import os from "node:os";
import type Dockerode from "dockerode";
import type pg from "pg";
import { desc, eq, inArray, sql } from "drizzle-orm";
import type { Db } from "../db";
import { auditLog, buildPackages, builds, cachePrunes } from "../db/schema";
import type { Actor } from "../auth/actor";
import { requireAdmin } from "../auth/roles";
import { config } from "../config";
import { ConflictError } from "../errors";
import { silentLogger, type Logger } from "../log";
import { RegistryClient } from "../registry/client";
import { RegistryRequestError } from "../registry/errors";
import { dockerFromEnv } from "./engine/client";
import { CACHE_REPOSITORY, engineCall, LABEL, statusOf } from "./engine/images";

/** pg_try_advisory_lock key of the prune (the migration lock is 7_041_990_001). */
export const CACHE_PRUNE_LOCK = 7_041_990_002;
const DAY_MS = 24 * 3600 * 1000;
/** How often each worker asks whether a prune is due. */
export const CACHE_PRUNE_POLL_MS = 10 * 60_000;
/** Cache keys are sha256 hex; anything else in the cache repository (base-… tags of base images) is never pruned. */
const CACHE_KEY = /^[0-9a-f]{64}$/;

export type CachePrune = typeof cachePrunes.$inferSelect;

export interface CachePruneDeps {
  db: Db;
  /** A connection of it holds the lock for the run. */
  pool: pg.Pool;
  docker: Dockerode;
  /** The registry holding the shared cache; without it only the engine is pruned. */
  registry?: RegistryClient | null;
  /** Repository of the shared cache on the registry (STRATA_CACHE_REPOSITORY). */
  cacheRepository?: string;
  maxAgeDays: number;
  workerId?: string;
  log?: Logger;
  /** Only images that carry these labels as well are looked at: tests share the engine with other runs. */
  labels?: string[];
  now?: Date;
}

export interface CacheUsage {
  images: number;
  /** The bytes the cache's own layers take: each image's size minus its parent image's (see engineCacheUsage). */
  bytes: number;
}

interface CacheImage {
  id: string;
  tag: string;
  key: string;
  created: number;
  /** Size minus the parent image's size: what removing it frees when nothing else uses it. */
  ownBytes: number;
}

/**
 * The engine's cache images with their own bytes. Image sizes include every layer below, so a chain of packages
 * would be counted many times over; each image counts its size minus its parent's instead (the layers it adds). An
 * image pulled from the shared cache has no parent recorded by the engine and counts whole (its base layers too).
 */
async function listCacheImages(docker: Dockerode, labels: string[], log: Logger): Promise<CacheImage[]> {
  const filters = [`${LABEL.role}=cache`, ...labels];
  const images = await engineCall(log, "list images", filters.join(","), () => docker.listImages({ filters: JSON.stringify({ label: filters }) }));
  const sizes = new Map(images.map((i) => [i.Id, i.Size]));
  const parentSize = async (parentId: string) => {
    if (!parentId) return 0;
    if (!sizes.has(parentId)) {
      const parent = await engineCall(log, "inspect image", parentId, () => docker.getImage(parentId).inspect()).catch(() => null);
      sizes.set(parentId, parent?.Size ?? 0);
    }
    return sizes.get(parentId)!;
  };
  const result: CacheImage[] = [];
  for (const image of images) {
    const ownBytes = Math.max(0, image.Size - (await parentSize(image.ParentId)));
    for (const tag of image.RepoTags ?? []) {
      if (!tag.startsWith(`${CACHE_REPOSITORY}:`)) continue;
      const key = tag.slice(CACHE_REPOSITORY.length + 1);
      if (CACHE_KEY.test(key)) result.push({ id: image.Id, tag, key, created: image.Created, ownBytes });
    }
  }
  return result;
}

/** How many cache images the engine holds and the bytes of their own layers. */
export async function engineCacheUsage(docker: Dockerode, opts: { labels?: string[]; log?: Logger } = {}): Promise<CacheUsage> {
  const images = await listCacheImages(docker, opts.labels ?? [], opts.log ?? silentLogger);
  const distinct = new Map(images.map((i) => [i.id, i.ownBytes]));
  return { images: distinct.size, bytes: [...distinct.values()].reduce((a, b) => a + b, 0) };
}

/**
 * Which of `keys` may go: known to this database (a key it never saw may be another Strata's on a shared engine or
 * registry, and is left alone), not used by any build since `cutoff`, and not needed by a published or running
 * build — the latest succeeded build of each flavour, builds released or asked to be released on a channel, and
 * builds queued or running.
 */
export async function staleCacheKeys(db: Db, keys: string[], cutoff: Date): Promise<Set<string>> {
  const stale = new Set<string>();
  for (let i = 0; i < keys.length; i += 5_000) {
    const chunk = keys.slice(i, i + 5_000);
    const used = await db
      .select({ key: buildPackages.cacheKey, lastUsed: sql<Date>`max(coalesce(${buildPackages.startedAt}, ${builds.startedAt}, ${builds.createdAt}))`.mapWith((v) => new Date(v)) })
      .from(buildPackages)
      .innerJoin(builds, eq(builds.id, buildPackages.buildId))
      .where(inArray(buildPackages.cacheKey, chunk))
      .groupBy(buildPackages.cacheKey);
    for (const { key, lastUsed } of used) if (key && lastUsed < cutoff) stale.add(key);
  }
  if (stale.size === 0) return stale;
  const kept = await db.execute<{ key: string }>(sql`
    select distinct bp.cache_key as key from build_packages bp
    where bp.cache_key is not null and bp.build_id in (
      select id from (select distinct on (flavour_id) id from builds where status = 'succeeded' order by flavour_id, created_at desc) latest
      union all select build_id from releases where status in ('approved', 'pending')
      union all select id from builds where status in ('queued', 'running')
    )`);
  for (const { key } of kept.rows) stale.delete(key);
  return stale;
}

/**
 * One prune, under the lock. Returns the recorded run, or null when another prune holds the lock (or, with
 * `ifOlderThanMs`, when the last run started more recently than that). Failures are recorded in the run, not thrown.
 */
export async function pruneCache(deps: CachePruneDeps, opts: { ifOlderThanMs?: number } = {}): Promise<CachePrune | null> {
  const log = deps.log ?? silentLogger;
  const client = await deps.pool.connect();
  let locked = false;
  try {
    locked = (await client.query<{ ok: boolean }>("select pg_try_advisory_lock($1) as ok", [CACHE_PRUNE_LOCK])).rows[0].ok;
    if (!locked) return null;
    if (opts.ifOlderThanMs !== undefined) {
      const [last] = await deps.db.select({ startedAt: cachePrunes.startedAt }).from(cachePrunes).orderBy(desc(cachePrunes.startedAt)).limit(1);
      if (last && Date.now() - last.startedAt.getTime() < opts.ifOlderThanMs) return null;
    }
    return await runPrune(deps, log);
  } finally {
    if (locked) await client.query("select pg_advisory_unlock($1)", [CACHE_PRUNE_LOCK]).catch(() => {});
    client.release();
  }
}

async function runPrune(deps: CachePruneDeps, log: Logger): Promise<CachePrune> {
  const { db, docker } = deps;
  const labels = deps.labels ?? [];
  const [run] = await db.insert(cachePrunes).values({ workerId: deps.workerId ?? `${os.hostname()}:${process.pid}`, maxAgeDays: deps.maxAgeDays }).returning();
  const cutoff = new Date((deps.now ?? new Date()).getTime() - deps.maxAgeDays * DAY_MS);
  let removedImages = 0;
  let removedTags = 0;
  let freedBytes = 0;
  const problems: string[] = [];
  try {
    const engineImages = await listCacheImages(docker, labels, log);
    const repository = deps.cacheRepository;
    const registryKeys = deps.registry && repository ? (await deps.registry.listTags(repository)).filter((t) => CACHE_KEY.test(t)) : [];
    const stale = await staleCacheKeys(db, [...new Set([...engineImages.map((i) => i.key), ...registryKeys])], cutoff);

    // Newest first: a package image goes before the one it was built on, so the parent is deleted (not just
    // untagged) when its own turn comes and its bytes are counted as freed.
    for (const image of engineImages.filter((i) => stale.has(i.key)).sort((a, b) => b.created - a.created)) {
      try {
        const answer = (await engineCall(log, "remove image", image.tag, () => docker.getImage(image.tag).remove({ noprune: false }))) as Array<{ Deleted?: string; Untagged?: string }>;
        removedImages++;
        if (answer?.some((a) => a.Deleted === image.id)) freedBytes += image.ownBytes;
      } catch (err) {
        // 409: a container uses it (a build that started after the check above); 404: removed meanwhile.
        if (statusOf(err) === 409 || statusOf(err) === 404) continue;
        throw err;
      }
    }

    for (const key of registryKeys.filter((k) => stale.has(k))) {
      try {
        const manifest = await deps.registry!.headManifest(repository!, key);
        if (manifest && (await deps.registry!.deleteManifest(repository!, manifest.digest))) removedTags++;
      } catch (err) {
        if (err instanceof RegistryRequestError && err.httpStatus === 405) {
          problems.push(`The registry ${deps.registry!.endpoint.url} does not allow deleting manifests, so the shared cache there was not pruned; enable deletion (distribution: storage.delete.enabled: true).`);
          break;
        }
        throw err;
      }
    }
  } catch (err) {
    problems.push(`Pruning stopped: ${(err as Error).message}`);
  }
  const after = await engineCacheUsage(docker, { labels, log }).catch(() => null);
  const [recorded] = await db
    .update(cachePrunes)
    .set({ finishedAt: new Date(), removedImages, removedTags, freedBytes, cacheImages: after?.images ?? null, cacheBytes: after?.bytes ?? null, error: problems.length ? problems.join(" ") : null })
    .where(eq(cachePrunes.id, run.id))
    .returning();
  log.info(`cache prune: removed ${removedImages} engine image(s) and ${removedTags} registry tag(s), freed ${freedBytes} bytes${problems.length ? `; ${problems.join(" ")}` : ""}`);
  return recorded;
}

/** The last recorded runs, newest first. */
export async function recentCachePrunes(db: Db, limit = 5): Promise<CachePrune[]> {
  return db.select().from(cachePrunes).orderBy(desc(cachePrunes.startedAt)).limit(limit);
}

/** When the next scheduled prune is due: the last run's start plus the interval (now when none ran yet). */
export function nextPruneDue(last: CachePrune | null, intervalHours: number, now = new Date()): Date {
  return last ? new Date(last.startedAt.getTime() + intervalHours * 3600 * 1000) : now;
}

/** The admin area's view of the cache: its size on the engine now, the last prunes, and the settings they follow. */
export async function getCacheOverview(db: Db, actor: Actor, docker: Dockerode = dockerFromEnv()) {
  requireAdmin(actor);
  const [usage, prunes] = await Promise.all([
    engineCacheUsage(docker).then(
      (u) => ({ ...u, error: null as string | null }),
      (err: Error) => ({ images: null, bytes: null, error: `The Docker engine did not answer (${err.message}); the cache size shows once it does.` }),
    ),
    recentCachePrunes(db, 5),
  ]);
  const settings = { maxAgeDays: config.cacheMaxAgeDays, intervalHours: config.cachePruneIntervalHours };
  return { usage, lastPrune: prunes[0] ?? null, recentPrunes: prunes, settings, nextDueAt: nextPruneDue(prunes[0] ?? null, settings.intervalHours) };
}

/** "Prune now" in the admin area: one run at once (a running prune is a 409), audit-logged with what it removed. */
export async function pruneCacheNow(db: Db, actor: Actor, deps: { pool: pg.Pool; docker?: Dockerode; registry?: RegistryClient | null; log?: Logger }): Promise<CachePrune> {
  requireAdmin(actor);
  const run = await pruneCache({
    db,
    pool: deps.pool,
    docker: deps.docker ?? dockerFromEnv(),
    registry: deps.registry === undefined ? new RegistryClient(config.registryUrl) : deps.registry,
    cacheRepository: config.cacheRepository,
    maxAgeDays: config.cacheMaxAgeDays,
    workerId: `web ${os.hostname()}:${process.pid}`,
    log: deps.log,
  });
  if (!run) throw new ConflictError("A cache prune is running already; its result shows here when it ends.");
  await db.insert(auditLog).values({
    orgId: actor.org.id,
    actorUserId: actor.user.id,
    action: "cache.prune",
    subject: run.id,
    detail: { maxAgeDays: run.maxAgeDays, removedImages: run.removedImages, removedTags: run.removedTags, freedBytes: run.freedBytes, error: run.error },
  });
  return run;
}
