// Job handlers of the worker: builds and disk images through the job wrapper (lib/jobs/handler.ts), plus the reapers of builds whose worker died or whose job is gone
// and the from-scratch schedule.
import type PgBoss from "pg-boss";
import type pg from "pg";
import type { Db } from "@/lib/db";
import { config, dataDir, jobSettings, type JobSettings } from "@/lib/config";
import { buildJobs, diskImageJobs, workJobs, type JobContext } from "@/lib/jobs/handler";
import { reapOrphanedQueuedBuilds } from "@/lib/builds/queue-reaper";
import { listenForQueuedBuilds } from "@/lib/jobs/wake";
import { dockerFromEnv, pingEngine } from "@/lib/builder/engine/client";
import { createArtefactStore } from "@/lib/builder/artefact-store";
import { artefactRoot, defaultWorkerId, reapStaleBuilds, runBuild, sweepOrphans, type BuildDeps } from "@/lib/builder/run-build";
import { reapDeadLocalBuilds, SWEEP_INTERVAL_MS } from "@/lib/builder/housekeeping";
import { listenForCancels } from "@/lib/builder/cancel-listener";
import { artefactMaxEntries, buildLimits, engineMachine } from "@/lib/builder/limits";
import { compressionFromEnv } from "@/lib/builder/extract";
import { RegistryClient } from "@/lib/registry/client";
import { backfillRepositories } from "@/lib/repository/backfill";
import { reapStaleDiskImages, runDiskImage } from "@/lib/disk-images/make";
import { SCRATCH_SCHEDULE_POLL_MS, startDueScratchRebuilds } from "@/lib/builds/scratch-schedule";
import { CACHE_PRUNE_POLL_MS, pruneCache } from "@/lib/builder/cache-prune";

export interface WorkerContext {
  boss: PgBoss;
  db: Db;
  pool: pg.Pool;
  log: (msg: string) => void;
}

/**
 * Builds through the job wrapper: `workerConcurrency` at once, outages retried by pg-boss, the organisation's cap
 * on running builds applied at the claim. The worker's path, and the one the retry tests run.
 */
export function workBuilds(ctx: JobContext, deps: () => BuildDeps, settings: JobSettings): Promise<string[]> {
  return workJobs(ctx, buildJobs, (job, attempt) => runBuild(deps(), job.buildId, { ...attempt, orgMaxRunning: settings.orgMaxRunning }), { slots: settings.workerConcurrency });
}

export async function registerHandlers(ctx: WorkerContext): Promise<() => Promise<void>> {
  const { boss, db, pool, log } = ctx;
  // STRATA_DEBUG=1: every engine and registry call, timed, for finding where a build spends its time.
  const debug = process.env.STRATA_DEBUG === "1" ? (m: string, meta?: Record<string, unknown>) => log(`${new Date().toISOString().slice(11, 23)} ${m}${meta ? ` ${JSON.stringify(meta)}` : ""}`) : () => {};
  const logger = { debug, info: log, warn: (m: string) => log(`warning: ${m}`), error: (m: string) => log(`error: ${m}`) };
  const workerId = defaultWorkerId();
  const shutdown = new AbortController();
  // Settings are read once, so a bad value stops the worker at start with its name, not every build.
  const compression = compressionFromEnv();
  const settings = jobSettings();
  const registry = new RegistryClient(config.registryUrl);
  const docker = dockerFromEnv();
  const machine = await engineMachine(docker);
  const limits = buildLimits(machine);
  log(`build limits: ${limits.nanoCpus / 1e9} CPUs, ${Math.round(limits.memoryBytes / 1024 ** 2)} MB memory a build (engine machine: ${machine.cpus} CPUs, ${Math.round(machine.memoryBytes / 1024 ** 3)} GB); artefacts ${compression.kind}:${compression.level}, at most ${artefactMaxEntries()} entries each`);
  log(
    `build output at most ${Math.round(limits.output.maxBytes / 1024 ** 2)} MB and ${limits.output.maxLines} lines (${limits.output.linesPerSecond} lines a second kept); ` +
      `deadline ${Math.round(limits.deadlineMs / 1000)} s a build; disk ${Math.round(limits.diskBytes / 1024 ** 2)} MB a build container`,
  );
  const deps = () => ({
    db,
    pool,
    // A fresh client a build, so an engine that comes back is used without restarting the worker.
    docker: dockerFromEnv(),
    registry,
    publicRegistry: config.registryPublicUrl,
    cacheRepository: config.cacheRepository,
    artefactStore: createArtefactStore(artefactRoot(dataDir())),
    limits,
    compression,
    extractMethod: process.env.STRATA_EXTRACT_OVERLAY === "1" ? ("auto" as const) : ("save" as const),
    workDir: dataDir(),
    workerId,
    log: logger,
    shutdown: shutdown.signal,
    // Declared below; read only when a build runs.
    cancels,
  });

  // Builds a killed worker of this host left running are failed now (not after the reaper's minute), so the sweep
  // below removes their containers at once; then every minute, for builds reaped meanwhile and loose leftovers.
  const sweep = async () => {
    for (const id of await reapDeadLocalBuilds(db).catch(() => [])) log(`build ${id}: its worker on this host is gone; marked failed`);
    const removed = await sweepOrphans(db, dockerFromEnv(), logger).catch((err) => (log(`sweep failed: ${(err as Error).message}`), 0));
    if (removed) log(`removed ${removed} leftover build container(s) and image(s)`);
  };
  const sweeper = setInterval(() => void sweep(), SWEEP_INTERVAL_MS);
  const cancels = listenForCancels(pool, log);
  if (await pingEngine(docker, 3000)) {
    await sweep();
  } else {
    log("the Docker engine does not answer yet; builds will fail with a message until it does");
  }

  // Successful builds from before repositories existed get theirs, in the background (builds run meanwhile).
  void backfillRepositories({ db, pool, docker, registry, publicRegistry: config.registryPublicUrl, store: createArtefactStore(artefactRoot(dataDir())), log: logger }).catch((err) =>
    log(`repository backfill failed: ${(err as Error).message}`),
  );

  const reap = async () => {
    const reaped = await reapStaleBuilds(db).catch(() => []);
    for (const id of reaped) log(`build ${id} lost its worker; marked failed`);
    const orphaned = await reapOrphanedQueuedBuilds(db).catch((err) => (log(`queued-build reaper failed: ${(err as Error).message}`), []));
    for (const id of orphaned) log(`build ${id} was queued without a job that would run it; marked failed`);
    const reapedImages = await reapStaleDiskImages(db).catch(() => []);
    for (const id of reapedImages) log(`disk image ${id} lost its worker; marked failed`);
  };
  await reap();
  const reaper = setInterval(reap, 20_000);

  // Flavours whose from-scratch schedule is due get their build; every worker looks, each due flavour is claimed once.
  const scheduleScratchRebuilds = () =>
    startDueScratchRebuilds(db, { boss, log: (m) => log(`scratch schedule: ${m}`) }).catch((err) => log(`scratch schedule failed: ${(err as Error).message}`));
  void scheduleScratchRebuilds();
  const scratchScheduler = setInterval(scheduleScratchRebuilds, SCRATCH_SCHEDULE_POLL_MS);

  // Cache images unused for STRATA_CACHE_MAX_AGE_DAYS go every STRATA_CACHE_PRUNE_INTERVAL_H: every worker looks
  // every few minutes, the advisory lock and the last run's start let one of them run it.
  const cachePruneEveryMs = config.cachePruneIntervalHours * 3600_000;
  const maxCacheAgeDays = config.cacheMaxAgeDays;
  const pruneCacheIfDue = () =>
    pruneCache(
      { db, pool, docker: dockerFromEnv(), registry, cacheRepository: config.cacheRepository, maxAgeDays: maxCacheAgeDays, workerId, log: logger },
      { ifOlderThanMs: cachePruneEveryMs },
    ).catch((err) => log(`cache prune failed: ${(err as Error).message}`));
  const cachePruner = setInterval(pruneCacheIfDue, Math.min(cachePruneEveryMs, CACHE_PRUNE_POLL_MS));

  log(
    `jobs: ${settings.workerConcurrency} build(s) at once; outages retried ${settings.buildRetries} times from ${settings.retryDelaySeconds} s${settings.retryBackoff ? ", doubling" : ""}; ` +
      (settings.orgMaxRunning ? `at most ${settings.orgMaxRunning} running builds an organisation` : "no cap on an organisation's running builds"),
  );
  const jobs: JobContext = { boss, db, log };
  const workerIds = await workBuilds(jobs, deps, settings);
  // Disk images: one at a time a worker, beside its builds (they share the engine, not a build slot).
  workerIds.push(
    ...(await workJobs(jobs, diskImageJobs, (job) =>
      runDiskImage(
        { db, docker: dockerFromEnv(), registry, publicRegistry: config.registryPublicUrl, dataDir: dataDir(), workerId, log: logger, shutdown: shutdown.signal },
        job.diskImageId,
      ),
    )),
  );
  // A queued build or disk image wakes the workers at once; the poll above is the fallback.
  const stopListening = listenForQueuedBuilds(pool, () => workerIds.forEach((id) => boss.notifyWorker(id)), log);

  return async () => {
    clearInterval(reaper);
    clearInterval(sweeper);
    await cancels.stop();
    clearInterval(scratchScheduler);
    clearInterval(cachePruner);
    await stopListening();
    // Running builds stop their containers and record why; pg-boss then waits for the handlers to return.
    shutdown.abort();
  };
}
