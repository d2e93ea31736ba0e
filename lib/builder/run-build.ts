// The worker's side of a build: claims the row, runs the packages in containers, publishes the image and records
// everything in the database. The engine work itself is runPackages/publishImage; this file is the bookkeeping.
import os from "node:os";
import type Dockerode from "dockerode";
import type pg from "pg";
import { and, count, desc, eq, inArray, isNotNull, sql } from "drizzle-orm";
import type { Db, DbOrTx } from "../db";
import { artefacts, buildLogs, buildPackages, builds, flavourRevisions, flavours, orgs, type Build, type BuildPhase } from "../db/schema";
import { getBaseManifest } from "../base-manifests/base-manifests";
import { packageId, type PackageDefinition } from "../manifest/schema";
import { silentLogger, type Logger } from "../log";
import type { RegistryClient } from "../registry/client";
import { isRetryable, type JobAttempt } from "../jobs/handler";
import { setTimeout as sleep } from "node:timers/promises";
import { engineAddress, pingEngine, EngineUnavailableError } from "./engine/client";
import { BuildCancelledError } from "./errors";
import type { CancelListener } from "./cancel-listener";
import { findImageByCacheKey, sweepLeftovers } from "./engine/images";
import { ensureBaseImage } from "./base-image";
import { finalLayer, identityFiles } from "./final-layer";
import { keptBasePackages } from "../flavours/kept-packages";
import { logWriter } from "./log-writer";
import { DEFAULT_DEADLINE_MS, deadlineMessage, LIMIT_SETTINGS, outputLimitsOf } from "./limits";
import { publishImage } from "./publish";
import { recordArtefactFiles } from "../repository/files";
import { readImageDebianPackages } from "../repository/dpkg";
import { knownDebianLicenses, knownDebianPackages, publishRevision, pushArtefacts, repositoryName } from "../repository/publish";
import { planKeys, runPackages, type BuildLimits, type PackageEvent } from "./run-packages";
import { baseCacheTag, SharedCachePublisher, sharedHas, type SharedCache } from "./shared-cache";
import type { ArtefactStore } from "./artefact-store";
import type { Artefact, CompressionChoice } from "./extract";
import { compareArtefacts, previousArtefacts } from "./artefact-changes";
import type { DebianPackage } from "../repository/types";

export { reapStaleBuilds, sweepOrphans, artefactRoot, STALE_AFTER_MS } from "./housekeeping";

export interface BuildDeps {
  db: Db;
  /** For advisory locks, which need one connection held for the lock's life. */
  pool: pg.Pool;
  docker: Dockerode;
  /** The registry workers push to (REGISTRY_URL), with its credentials. */
  registry: RegistryClient;
  /** The same registry as other machines reach it (REGISTRY_PUBLIC_URL), for the references Strata shows and labels. */
  publicRegistry?: string;
  /** Repository of the shared build cache on the registry (STRATA_CACHE_REPOSITORY). */
  cacheRepository?: string;
  artefactStore: ArtefactStore;
  limits: BuildLimits;
  compression?: CompressionChoice;
  /** "save" (default) or "auto" (the overlay2 fast path, STRATA_EXTRACT_OVERLAY=1). */
  extractMethod?: "save" | "auto";
  /** Where the base image is made when absent. */
  workDir: string;
  workerId?: string;
  log?: Logger;
  heartbeatMs?: number;
  /** Fires when the worker shuts down: the running container is stopped and the build failed with a reason. */
  shutdown?: AbortSignal;
  /** The worker's LISTEN for cancel requests, so a cancel stops the build at once; the heartbeat is the fallback. */
  cancels?: CancelListener;
}

export const HEARTBEAT_MS = 5_000;

export const defaultWorkerId = () => `${os.hostname()}:${process.pid}`;

/** How often a builder waiting for another worker's key lock asks again (and looks at its cancel signal). */
const KEY_LOCK_POLL_MS = 250;

/**
 * Serialises builders of one cache key across every worker sharing the database. The wait is a loop of
 * pg_try_advisory_lock rather than one blocking pg_advisory_lock, so a cancelled build stops waiting at once.
 */
function advisoryKeyLock(pool: pg.Pool, signal?: AbortSignal) {
  return async <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    // A dropped connection must fail this build, not crash the worker with an unhandled 'error' event.
    const onError = (err: Error) => console.error("[build] lock connection lost:", err.message);
    client.on("error", onError);
    try {
      for (;;) {
        if (signal?.aborted) throw new BuildCancelledError();
        const { rows } = await client.query<{ locked: boolean }>("select pg_try_advisory_lock(hashtextextended($1, 7041)) as locked", [key]);
        if (rows[0]?.locked) break;
        await sleep(KEY_LOCK_POLL_MS, undefined, signal ? { signal } : undefined).catch(() => {});
      }
      try {
        return await fn();
      } finally {
        await client.query("select pg_advisory_unlock(hashtextextended($1, 7041))", [key]);
      }
    } finally {
      client.off("error", onError);
      client.release();
    }
  };
}

/** A message for the build page: what failed and, where we know, how to fix it. */
export function failureMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * What the job wrapper (lib/jobs/handler.ts) tells runBuild about this attempt: whether a failure is retried, and
 * the organisation's cap on running builds. Absent when runBuild is called directly: no retries, no cap.
 */
export interface BuildAttempt extends JobAttempt {
  /** Builds of one organisation that may run at once, across all workers (STRATA_ORG_MAX_RUNNING); 0: no cap. */
  orgMaxRunning: number;
}

/** What runBuild did with its job: ran it to an end (success, failure, cancel), handed it back for a retry, put it off, or found nothing to do. */
export type BuildOutcome = "finished" | "retrying" | "postponed" | "skipped";

/** A build held back by its organisation's running cap is looked at again this much later. */
export const ORG_CAP_RECHECK_SECONDS = 5;

/**
 * Takes the queued build for this worker, in one transaction: a build whose cancel was asked for meanwhile ends
 * cancelled; one whose organisation already runs its cap of builds is put off (its job sent again a little later,
 * no attempt used); otherwise it turns running. The organisation's advisory lock makes the count and the claim one
 * step across workers.
 */
async function claim(db: Db, buildId: string, workerId: string, job?: BuildAttempt): Promise<Build | "postponed" | null> {
  return db.transaction(async (tx) => {
    const [queued] = await tx
      .select({ orgId: builds.orgId, cancelRequestedAt: builds.cancelRequestedAt })
      .from(builds)
      .where(and(eq(builds.id, buildId), eq(builds.status, "queued")))
      .for("update");
    if (!queued) return null; // cancelled while queued, or another worker has it
    const now = new Date();
    if (queued.cancelRequestedAt) {
      // Asked to stop while its last attempt was failing: it does not start again.
      await tx.update(builds).set({ status: "cancelled", retryAt: null, phaseDetail: null, finishedAt: now, error: "Cancelled before it started again." }).where(eq(builds.id, buildId));
      await tx.update(buildPackages).set({ status: "cancelled" }).where(and(eq(buildPackages.buildId, buildId), inArray(buildPackages.status, ["pending", "running"])));
      return null;
    }
    if (job && job.orgMaxRunning > 0) {
      await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`org-running:${queued.orgId}`}, 7042))`);
      const [{ running }] = await tx.select({ running: count() }).from(builds).where(and(eq(builds.orgId, queued.orgId), eq(builds.status, "running")));
      if (running >= job.orgMaxRunning) {
        const jobId = await job.postpone(tx, ORG_CAP_RECHECK_SECONDS);
        const waiting = `waiting: your organisation has ${running} ${running === 1 ? "build" : "builds"} running (limit ${job.orgMaxRunning})`;
        await tx.update(builds).set({ jobId, phaseDetail: waiting }).where(eq(builds.id, buildId));
        return "postponed";
      }
    }
    const [row] = await tx
      .update(builds)
      .set({
        status: "running",
        phase: "preparing",
        phaseDetail: "checking the engine and the registry",
        startedAt: now,
        heartbeatAt: now,
        workerId,
        retryAt: null,
        attempt: sql`${builds.attempt} + 1`,
        // This attempt and the retries its job has left.
        maxAttempts: sql`${builds.attempt} + 1 + ${job?.retriesLeft ?? 0}`,
      })
      .where(eq(builds.id, buildId))
      .returning();
    return row;
  });
}

const MB = 1024 * 1024;
const mb = (bytes: number) => `${Math.max(1, Math.round(bytes / MB))} MB`;

/**
 * What each package is expected to take, for weighted progress: 0 when its key is cached (in this engine or the
 * registry), else how long the same key took when last built, else the same package's last build, else unknown.
 */
async function expectedDurations(
  db: Db,
  docker: Dockerode,
  cache: SharedCache,
  packages: PackageDefinition[],
  keys: string[],
  log: Logger,
  fromScratch = false,
): Promise<{ expected: (number | null)[]; inRegistry: string[] }> {
  const known = await db
    .select({ cacheKey: buildPackages.cacheKey, packageId: buildPackages.packageId, durationMs: buildPackages.durationMs })
    .from(buildPackages)
    .where(and(eq(buildPackages.status, "built"), isNotNull(buildPackages.durationMs), inArray(buildPackages.packageId, packages.map(packageId))))
    .orderBy(desc(buildPackages.finishedAt))
    .limit(500);
  const inRegistry: string[] = [];
  const expected = await Promise.all(
    packages.map(async (def, i) => {
      const key = keys[i];
      const [local, shared] = await Promise.all([findImageByCacheKey(docker, key, log), sharedHas(cache, key).catch(() => false)]);
      if (shared) inRegistry.push(key);
      if ((local !== null || shared) && !fromScratch) return 0;
      const sameKey = known.find((k) => k.cacheKey === key);
      const samePackage = known.find((k) => k.packageId === packageId(def));
      return sameKey?.durationMs ?? samePackage?.durationMs ?? null;
    }),
  );
  return { expected, inRegistry };
}

/** Labels of the published image: the OCI annotations and Strata's own, each with a value. */
function imageLabels(values: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).filter((entry): entry is [string, string] => typeof entry[1] === "string" && entry[1] !== ""));
}

export async function runBuild(deps: BuildDeps, buildId: string, job?: BuildAttempt): Promise<BuildOutcome> {
  const { db } = deps;
  const log = deps.log ?? silentLogger;
  const build = await claim(db, buildId, deps.workerId ?? defaultWorkerId(), job);
  if (build === "postponed") return "postponed";
  if (!build) return "skipped";
  const logs = logWriter(db, build.id, outputLimitsOf(deps.limits));
  const say = (line: string) => logs.write(null, `[strata] ${line}`);
  const abort = new AbortController();
  const onShutdown = () => {
    say("the worker is shutting down: stopping this build");
    abort.abort("shutdown");
  };
  deps.shutdown?.addEventListener("abort", onShutdown, { once: true });
  // The whole build's time, whatever runs then: stopped like a cancel (the container is killed), failed with its own message.
  const deadlineMs = deps.limits.deadlineMs ?? DEFAULT_DEADLINE_MS;
  const deadline = setTimeout(() => {
    if (abort.signal.aborted) return;
    say(`the build reached its deadline (${LIMIT_SETTINGS.deadline}): stopping it`);
    abort.abort("deadline");
  }, deadlineMs);
  const packageRow = (position: number) => and(eq(buildPackages.buildId, build.id), eq(buildPackages.position, position));

  // Heartbeat, and the cancel request read back on the same beat.
  const beat = setInterval(async () => {
    try {
      const [row] = await db.update(builds).set({ heartbeatAt: new Date() }).where(eq(builds.id, build.id)).returning({ cancel: builds.cancelRequestedAt });
      if (row?.cancel && !abort.signal.aborted) {
        say("cancel requested: stopping the running container");
        abort.abort("cancel");
      }
    } catch (err) {
      log.warn(`heartbeat failed: ${(err as Error).message}`);
    }
  }, deps.heartbeatMs ?? Math.min(HEARTBEAT_MS, 1000));
  // A cancel announced by NOTIFY (cancelBuild) stops the build at once; the beat above is the fallback.
  const unwatchCancel = deps.cancels?.watch(build.id, () => {
    if (abort.signal.aborted) return;
    say("cancel requested: stopping the build");
    abort.abort("cancel");
  });

  // Package events arrive synchronously; their writes are chained so they land in order.
  let updates: Promise<unknown> = Promise.resolve();
  const update = (fn: () => Promise<unknown>) => {
    updates = updates.then(fn).catch((err) => log.warn(`progress write failed: ${(err as Error).message}`));
  };
  const setPhase = (phase: BuildPhase, detail: string) => update(() => db.update(builds).set({ phase, phaseDetail: detail }).where(eq(builds.id, build.id)));
  /**
   * The artefact row and the package's link to it are written as soon as the package is done, so the page shows it
   * at once. A cached package's artefact is nearly always known already: its file list (thousands of entries for the
   * kernel) is then not sent again.
   */
  const recorded = new Set<string>();
  const recordArtefact = async (tx: DbOrTx, position: number, a: Artefact) => {
    if (!recorded.has(a.digest)) {
      const [known] = await tx.select({ digest: artefacts.digest }).from(artefacts).where(eq(artefacts.digest, a.digest));
      if (!known) {
        await tx.transaction(async (inner) => {
          const inserted = await inner
            .insert(artefacts)
            .values({ digest: a.digest, size: a.size, uncompressedSize: a.uncompressedSize, fileCount: a.fileCount, compression: a.compression, deleted: a.deleted })
            .onConflictDoNothing()
            .returning({ digest: artefacts.digest });
          // The file index goes with the row (whoever inserted the row writes it), so a row never lacks its files.
          if (inserted.length) await recordArtefactFiles(inner, a.digest, a.files);
        });
      }
      recorded.add(a.digest);
    }
    await tx.update(buildPackages).set({ artefactDigest: a.digest }).where(packageRow(position));
  };
  /**
   * The Debian packages of the final image, read as soon as the last package's image exists (committed or found in a
   * cache), beside its extraction and the image's publishing; reused when a revision already read that image's key.
   */
  let lastPosition = -1;
  /** From-scratch builds: the artefact the cache held for each package's key before the rebuild. */
  let previousDigests: (string | null)[] = [];
  let debianRead: Promise<DebianPackage[]> | null = null;
  const readDebianPackages = (imageId: string, key: string | null) => {
    debianRead ??= (async () =>
      (key ? await knownDebianPackages(db, key) : null) ??
      readImageDebianPackages(deps.docker, imageId, { log, signal: abort.signal, knownLicenses: knownDebianLicenses(db) }))();
    // Its failure is read where it is awaited (or after a failure elsewhere), not as an unhandled rejection.
    debianRead.catch(() => {});
    return debianRead;
  };
  const onPackage = (event: PackageEvent) => {
    const now = new Date();
    switch (event.type) {
      case "started":
        say(`${event.id}: cache key ${event.cacheKey.slice(0, 16)}…`);
        update(async () => {
          await db.update(buildPackages).set({ status: "running", cacheKey: event.cacheKey, startedAt: now }).where(packageRow(event.index));
          await db.update(builds).set({ currentPackage: event.id }).where(eq(builds.id, build.id));
        });
        break;
      case "cached":
        say(`${event.id}: reusing the cached image ${event.imageId.slice(7, 19)}${event.source === "registry" ? " (pulled from the registry's shared cache)" : ""}`);
        if (event.index === lastPosition) readDebianPackages(event.imageId, event.cacheKey);
        break;
      case "committed":
        if (event.index === lastPosition) readDebianPackages(event.imageId, null);
        break;
      case "step":
        update(() => db.update(buildPackages).set({ step: event.step, steps: event.steps }).where(packageRow(event.index)));
        break;
      case "finished":
        update(async () => {
          await recordArtefact(db, event.index, event.result.artefact);
          // From scratch: did the rebuild change what the cache held (e.g. did the security updates change anything)?
          const before = previousDigests[event.index];
          const changes = build.fromScratch && before ? await compareArtefacts(db, before, event.result.artefact.digest) : undefined;
          await db
            .update(buildPackages)
            .set({ status: event.result.cached ? "cached" : "built", cached: event.result.cached, imageId: event.result.imageId, durationMs: event.result.durationMs, finishedAt: now, ...(changes ? { changes } : {}) })
            .where(packageRow(event.index));
          await db.update(builds).set({ donePackages: event.index + 1 }).where(eq(builds.id, build.id));
        });
        break;
      case "failed":
        update(() => db.update(buildPackages).set({ status: abort.signal.aborted && abort.signal.reason !== "deadline" ? "cancelled" : "failed", finishedAt: now }).where(packageRow(event.index)));
        break;
    }
  };

  let publisher: SharedCachePublisher | null = null;
  let repositoryWork: Promise<[DebianPackage[], Awaited<ReturnType<typeof pushArtefacts>>]> | null = null;
  try {
    const [context] = await db
      .select({ revision: flavourRevisions, flavourName: flavours.name, imageRepository: flavours.imageRepository, orgSlug: orgs.slug })
      .from(flavourRevisions)
      .innerJoin(flavours, eq(flavours.id, flavourRevisions.flavourId))
      .innerJoin(orgs, eq(orgs.id, flavours.orgId))
      .where(eq(flavourRevisions.id, build.revisionId));
    const base = await getBaseManifest(db, context.revision.baseManifestId);
    // The base packages the revision keeps (it may leave some out), then its layers.
    const basePackages = keptBasePackages(base.packages, context.revision.excludedPackages);
    const packages = [...basePackages, ...context.revision.layers];
    // Bound to the build's signal: a cancel stops every registry request and engine push or pull of the build.
    const registry = deps.registry.withSignal(abort.signal);
    const cache: SharedCache = { registry, repository: deps.cacheRepository ?? "strata-cache", signal: abort.signal };
    const baseVersion = `${base.name} ${base.version}`;

    // Fail fast (well within 30 s) and say which part is missing and how to fix it.
    say(`build ${build.version} (revision ${build.revisionNumber}, build ${build.version.split(".").pop()}) of ${context.orgSlug}/${context.flavourName} on ${baseVersion}: ${packages.length} packages`);
    if (!(await pingEngine(deps.docker, 10_000)))
      throw new EngineUnavailableError(
        `The Docker engine (${engineAddress()}) does not answer. Start it (\`npm run up\` starts one) or point DOCKER_HOST at a running engine, then press Retry.`,
      );
    await registry.ping();

    setPhase("preparing", `base image ${base.header.base_image}`);
    say(`base image ${base.header.base_image}`);
    const baseId = await ensureBaseImage(deps.docker, base.header.base_image, { workDir: deps.workDir, log, sharedCache: cache });
    publisher = new SharedCachePublisher(deps.docker, cache, log);
    publisher.ensure("the base image", baseCacheTag(base.header.base_image), baseId);

    // Variables for steps that ask for them (layers of strata-base 1 do); the version stamp itself is the final layer's.
    const buildEnv = { STRATA_FLAVOUR: context.flavourName, STRATA_VERSION: build.version, STRATA_BASE_VERSION: baseVersion };
    const keys = planKeys(baseId, packages, buildEnv);
    const { expected, inRegistry } = await expectedDurations(db, deps.docker, cache, packages, keys, log, build.fromScratch);
    // Those need no push and no second look from the publisher.
    publisher.knownPresent(inRegistry);
    if (build.fromScratch) {
      // Read before any package is rebuilt: afterwards the cache holds the new artefacts.
      previousDigests = await previousArtefacts(db, deps.artefactStore, keys, build.id);
      say(`from scratch: every package is built again, without the cache; its results then replace the cached ones (${previousDigests.filter(Boolean).length} of ${packages.length} packages had a cached artefact to compare with)`);
    }
    update(async () => {
      for (const [position, key] of keys.entries())
        await db.update(buildPackages).set({ cacheKey: key, expectedMs: expected[position], ...(build.fromScratch ? { previousArtefactDigest: previousDigests[position] } : {}) }).where(packageRow(position));
    });
    setPhase("building", `${expected.filter((e) => e !== 0).length} of ${packages.length} packages to build`);

    lastPosition = packages.length - 1;
    const timings: Array<[string, number]> = [["preparing", Date.now()]];
    const result = await runPackages({
      docker: deps.docker,
      baseImage: baseId,
      packages,
      buildId: build.id,
      buildEnv,
      limits: deps.limits,
      artefactStore: deps.artefactStore,
      compression: deps.compression,
      extractMethod: deps.extractMethod,
      withKeyLock: advisoryKeyLock(deps.pool, abort.signal),
      sharedCache: cache,
      publisher,
      fromScratch: build.fromScratch,
      // Metered against the output limits; it may ask the container's output to wait, or throw past a limit.
      onLog: (pkg, line) => logs.output(pkg, line),
      onPackage,
      signal: abort.signal,
      log,
    });
    await updates;

    // The repository revision's work (the image's Debian packages, its artefacts into the registry) runs beside the
    // image's publishing below: one waits on the engine and the disk, the other on the registry.
    const imageKey = result.lastKey;
    const repoName = repositoryName(context.imageRepository);
    repositoryWork = Promise.all([
      readDebianPackages(result.imageId, imageKey),
      pushArtefacts({ db, registry, store: deps.artefactStore, repository: repoName, artefacts: result.packages.map((p) => p.artefact), log }),
    ]);
    repositoryWork.catch(() => {});

    // Publishing: the cache pushes that are still running, then the image assembled in the registry.
    // The flavour's own repository, fixed when it was made: a rename does not move it (nor let another flavour push there).
    const repository = context.imageRepository;
    timings.push(["packages", Date.now()]);
    setPhase("publishing", "pushing package layers to the registry");
    const progress = setInterval(() => {
      const { current, pending } = publisher!.status();
      if (!current) return;
      const amount = current.totalBytes ? ` (${mb(current.doneBytes)} of ${mb(current.totalBytes)})` : "";
      setPhase("publishing", `pushing ${current.what}${amount}${pending > 1 ? `, ${pending - 1} more after it` : ""}`);
    }, 1_000);
    try {
      await publisher.flush();
    } finally {
      clearInterval(progress);
    }
    if (abort.signal.aborted) throw new Error("cancelled");

    timings.push(["pushing", Date.now()]);
    const created = new Date();
    const layer = await finalLayer(
      { flavour: context.flavourName, version: build.version, baseVersion, buildId: build.id, ...identityFiles(packages) },
      created,
    );
    say(`final layer: ${layer.paths.join(", ")}`);
    const publicRegistry = deps.publicRegistry ?? registry.endpoint.url;
    const publicRef = `${publicRegistry}/${repository}:${build.version}`;
    const pushed = await publishImage({
      registry,
      signal: abort.signal,
      source: { repository: cache.repository, tag: result.lastKey ?? baseCacheTag(base.header.base_image) },
      repository,
      tag: build.version,
      finalLayer: layer,
      created,
      labels: imageLabels({
        "org.opencontainers.image.title": context.flavourName,
        "org.opencontainers.image.version": build.version,
        "org.opencontainers.image.created": created.toISOString(),
        "org.opencontainers.image.ref.name": build.version,
        "org.opencontainers.image.base.name": base.header.base_image,
        "org.opencontainers.image.vendor": context.orgSlug,
        "org.opencontainers.image.description": `${context.flavourName}, a Strata flavour on ${baseVersion}`,
        // Where devices and other machines pull it from (REGISTRY_PUBLIC_URL), not the address this worker pushed to.
        "io.strata.repository": `${publicRegistry}/${repository}`,
        "io.strata.flavour": context.flavourName,
        "io.strata.org": context.orgSlug,
        "io.strata.version": build.version,
        "io.strata.build": build.id,
        "io.strata.revision": String(build.revisionNumber),
        "io.strata.base-manifest": baseVersion,
      }),
      onProgress: (detail) => {
        say(detail);
        setPhase("publishing", detail);
      },
      log,
    });
    say(`published ${publicRef}@${pushed.digest} (${mb(pushed.size)})`);
    timings.push(["assembling", Date.now()]);

    // The repository revision's share, started beside the image's publishing above: its rows go with the success.
    setPhase("publishing", "publishing the repository revision");
    const [debianPackages, pushedArtefacts] = await repositoryWork;
    say(`repository artefacts in ${repoName}: ${pushedArtefacts.uploaded} uploaded, ${pushedArtefacts.mounted} linked from other repositories, ${pushedArtefacts.present} there already; ${debianPackages.length} Debian packages`);
    if (abort.signal.aborted) throw new Error("cancelled");
    timings.push(["repository", Date.now()]);
    // Where the time went, for whoever wonders why a build took as long as it did.
    const since = build.startedAt ? build.startedAt.getTime() : timings[0][1];
    const spans = timings.map(([name, at], i) => `${name} ${((at - (i === 0 ? since : timings[i - 1][1])) / 1000).toFixed(1)} s`);
    const queued = build.startedAt ? `queued ${((build.startedAt.getTime() - build.createdAt.getTime()) / 1000).toFixed(1)} s, ` : "";
    say(`time: ${queued}${spans.join(", ")}`);
    // Every line is written before the status turns final, so the live log never ends short.
    await updates;
    await logs.flush();

    // Only now, with the image in the registry and every artefact stored, is the build a success.
    await db.transaction(async (tx) => {
      // Normally written when each package finished; a write that failed then is not lost.
      for (const [position, pkg] of result.packages.entries()) if (!recorded.has(pkg.artefact.digest)) await recordArtefact(tx, position, pkg.artefact);
      const revision = await publishRevision(tx, {
        registry,
        publicRegistry,
        orgId: build.orgId,
        org: context.orgSlug,
        flavourId: build.flavourId,
        flavour: context.flavourName,
        baseManifest: baseVersion,
        build: { id: build.id, version: build.version, flavourRevision: build.revisionNumber, image: { reference: `${publicRegistry}/${repository}:${build.version}`, digest: pushed.digest, size: pushed.size } },
        packages: result.packages.map((pkg, position) => ({
          definition: packages[position],
          fromBase: position < basePackages.length,
          cacheKey: pkg.cacheKey,
          cached: pkg.cached,
          buildMs: pkg.durationMs,
          artefact: pkg.artefact,
        })),
        debianPackages,
        imageKey,
        log,
      });
      // In the transaction: the line exists exactly when the revision does.
      await tx.insert(buildLogs).values({ buildId: build.id, packageId: null, line: `[strata] published repository revision ${revision.number}: ${revision.reference} (index ${revision.indexDigest})` });
      await tx
        .update(builds)
        .set({ status: "succeeded", phase: null, phaseDetail: null, imageRef: publicRef, imageDigest: pushed.digest, imageSize: pushed.size, currentPackage: null, finishedAt: new Date(), donePackages: packages.length })
        .where(eq(builds.id, build.id));
    });
  } catch (err) {
    await updates;
    // A failed build must not leave pushes running behind it.
    await publisher?.flush().catch(() => {});
    await repositoryWork?.catch(() => {});
    // (Assigned in the package events; TypeScript cannot see that.)
    await (debianRead as Promise<DebianPackage[]> | null)?.catch(() => {});
    const shutdown = abort.signal.aborted && abort.signal.reason === "shutdown";
    const overDeadline = abort.signal.aborted && abort.signal.reason === "deadline";
    const cancelled = !shutdown && !overDeadline && abort.signal.aborted;
    let message = shutdown ? "The worker was stopped while building; press Retry to build again." : overDeadline ? deadlineMessage(deadlineMs) : cancelled ? "Cancelled." : failureMessage(err);
    /** Cancel was asked for while the attempt was failing: the build ends cancelled, not queued again. */
    let cancelAsked = false;
    // An engine or registry outage with retries left goes back to the queue (the job wrapper decides which); the
    // row turns queued with the retry's time and reason in the transaction that hands the job back to pg-boss.
    if (!shutdown && !overDeadline && !cancelled && job?.willRetry(err)) {
      say(`attempt ${build.attempt} of ${build.maxAttempts} failed: ${message}`);
      // No beat on a build that is queued again (the finally below clears it too late for that).
      clearInterval(beat);
      await logs.flush();
      const retryAt = await db
        .transaction(async (tx) => {
          const [row] = await tx.select({ cancel: builds.cancelRequestedAt }).from(builds).where(eq(builds.id, build.id)).for("update");
          if (row?.cancel) {
            cancelAsked = true;
            return null;
          }
          const at = await job.retry(tx, message);
          if (!at) return null;
          await tx.update(buildPackages).set({ status: "pending", step: null, steps: null, startedAt: null, finishedAt: null }).where(eq(buildPackages.buildId, build.id));
          await tx
            .update(builds)
            .set({ status: "queued", phase: null, phaseDetail: null, currentPackage: null, donePackages: 0, heartbeatAt: null, workerId: null, retryAt: at, retryReason: message })
            .where(eq(builds.id, build.id));
          return at;
        })
        .catch((writeErr) => {
          log.warn(`build ${build.id}: queueing the retry failed: ${(writeErr as Error).message}`);
          return null;
        });
      if (retryAt) {
        say(`trying again in ${Math.max(1, Math.round((retryAt.getTime() - Date.now()) / 1000))} s (attempt ${build.attempt + 1} of ${build.maxAttempts})`);
        return "retrying";
      }
    }
    const ended = cancelled || cancelAsked;
    if (cancelAsked) message = "Cancelled.";
    // The last of several attempts says so: the reason is the outage every attempt met (or what ended the last one).
    const retried = build.attempt > 1 && !ended ? `\n\nStrata tried this build ${build.attempt} times (${build.attempt - 1} ${build.attempt === 2 ? "retry" : "retries"} after an engine or registry outage)${isRetryable(err) ? "; the last attempt failed the same way. Press Retry once the engine and the registry answer again." : "."}` : "";
    say(ended ? "build cancelled" : `build failed: ${message}`);
    await logs.flush();
    await db.transaction(async (tx) => {
      await tx
        .update(buildPackages)
        .set({ status: ended ? "cancelled" : "failed" })
        .where(and(eq(buildPackages.buildId, build.id), inArray(buildPackages.status, ["running"])));
      await tx.update(buildPackages).set({ status: "cancelled" }).where(and(eq(buildPackages.buildId, build.id), eq(buildPackages.status, "pending")));
      await tx.update(builds).set({ status: ended ? "cancelled" : "failed", phase: null, phaseDetail: null, retryAt: null, error: message + retried, finishedAt: new Date() }).where(eq(builds.id, build.id));
    });
  } finally {
    deps.shutdown?.removeEventListener("abort", onShutdown);
    clearInterval(beat);
    unwatchCancel?.();
    clearTimeout(deadline);
    await logs.close();
    await sweepLeftovers(deps.docker, { buildId: build.id, log }).catch((err) => log.warn(`sweep after build failed: ${(err as Error).message}`));
  }
  return "finished";
}
