// Job handlers of the worker: builds (one at a time per worker by default), plus the reaper of builds whose worker died
// and the from-scratch schedule.
import type PgBoss from "pg-boss";
import type pg from "pg";
import type { Db } from "@/lib/db";
import { config, dataDir } from "@/lib/config";
import { QUEUES, type BuildJob } from "@/lib/jobs/boss";
import { listenForQueuedBuilds } from "@/lib/jobs/wake";
import { dockerFromEnv, pingEngine } from "@/lib/builder/engine/client";
import { createArtefactStore } from "@/lib/builder/artefact-store";
import { artefactRoot, defaultWorkerId, reapStaleBuilds, runBuild, sweepOrphans } from "@/lib/builder/run-build";
import { buildLimits, engineMachine } from "@/lib/builder/limits";
import { compressionFromEnv } from "@/lib/builder/extract";
import { RegistryClient } from "@/lib/registry/client";
import { backfillRepositories } from "@/lib/repository/backfill";
import { reapStaleDiskImages, runDiskImage } from "@/lib/disk-images/make";
import type { DiskImageJob } from "@/lib/disk-images/disk-images";
import { SCRATCH_SCHEDULE_POLL_MS, startDueScratchRebuilds } from "@/lib/builds/scratch-schedule";

export interface WorkerContext {
  boss: PgBoss;
  db: Db;
  pool: pg.Pool;
  log: (msg: string) => void;
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
  const registry = new RegistryClient(config.registryUrl);
  const docker = dockerFromEnv();
  const machine = await engineMachine(docker);
  const limits = buildLimits(machine);
  log(`build limits: ${limits.nanoCpus / 1e9} CPUs, ${Math.round(limits.memoryBytes / 1024 ** 2)} MB memory a build (engine machine: ${machine.cpus} CPUs, ${Math.round(machine.memoryBytes / 1024 ** 3)} GB); artefacts ${compression.kind}:${compression.level}`);
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
  });

  if (await pingEngine(docker, 3000)) {
    const removed = await sweepOrphans(db, docker, logger).catch((err) => (log(`sweep failed: ${(err as Error).message}`), 0));
    if (removed) log(`removed ${removed} leftover build container(s)`);
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

  const concurrency = Number(process.env.STRATA_WORKER_CONCURRENCY || 1);
  const workerIds: string[] = [];
  for (let i = 0; i < concurrency; i++) {
    workerIds.push(
      await boss.work<BuildJob>(QUEUES.build, { batchSize: 1, pollingIntervalSeconds: 1 }, async ([job]) => {
        log(`build ${job.data.buildId}: started`);
        await runBuild(deps(), job.data.buildId);
        log(`build ${job.data.buildId}: done`);
      }),
    );
  }
  // Disk images: one at a time a worker, beside its builds (they share the engine, not a build slot).
  workerIds.push(
    await boss.work<DiskImageJob>(QUEUES.diskImage, { batchSize: 1, pollingIntervalSeconds: 1 }, async ([job]) => {
      log(`disk image ${job.data.diskImageId}: started`);
      await runDiskImage(
        { db, docker: dockerFromEnv(), registry, publicRegistry: config.registryPublicUrl, dataDir: dataDir(), workerId, log: logger, shutdown: shutdown.signal },
        job.data.diskImageId,
      );
      log(`disk image ${job.data.diskImageId}: done`);
    }),
  );
  // A queued build or disk image wakes the workers at once; the poll above is the fallback.
  const stopListening = listenForQueuedBuilds(pool, () => workerIds.forEach((id) => boss.notifyWorker(id)), log);

  return async () => {
    clearInterval(reaper);
    clearInterval(scratchScheduler);
    await stopListening();
    // Running builds stop their containers and record why; pg-boss then waits for the handlers to return.
    shutdown.abort();
  };
}
