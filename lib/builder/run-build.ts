// The worker's side of a build: claims the row, runs the packages in containers, pushes the image and records
// everything in the database. The engine work itself is runPackages/tagAndPush; this file is the bookkeeping.
import os from "node:os";
import path from "node:path";
import type Dockerode from "dockerode";
import type pg from "pg";
import { and, eq, inArray, lt, sql } from "drizzle-orm";
import type { Db } from "../db";
import { artefacts, buildLogs, buildPackages, builds, flavourRevisions, flavours, orgs, type Build } from "../db/schema";
import { getBaseManifest } from "../base-manifests/base-manifests";
import { silentLogger, type Logger } from "../log";
import { pingEngine, EngineUnavailableError } from "./engine/client";
import { parseRegistry, assertRegistryReachable } from "../registry/endpoint";
import { ensureBaseImage } from "./base-image";
import { runPackages, type BuildLimits, type PackageEvent } from "./run-packages";
import { StepFailedError, BuildTimeoutError, BuildCancelledError } from "./errors";
import { tagAndPush } from "./push";
import type { ArtefactStore } from "./artefact-store";
import { sweepLeftovers, LABEL } from "./engine/images";

export interface BuildDeps {
  db: Db;
  /** For advisory locks, which need one connection held for the lock's life. */
  pool: pg.Pool;
  docker: Dockerode;
  registry: string;
  artefactStore: ArtefactStore;
  limits: BuildLimits;
  /** Where the base image is made when absent. */
  workDir: string;
  workerId?: string;
  log?: Logger;
  heartbeatMs?: number;
  /** Fires when the worker shuts down: the running container is stopped and the build failed with a reason. */
  shutdown?: AbortSignal;
}

export const HEARTBEAT_MS = 5_000;
/** A running build whose heartbeat is older than this lost its worker. */
export const STALE_AFTER_MS = 60_000;

export const defaultWorkerId = () => `${os.hostname()}:${process.pid}`;

export function limitsFromEnv(env = process.env): BuildLimits {
  const num = (name: string, fallback: number) => (env[name] ? Number(env[name]) : fallback);
  return {
    memoryBytes: num("STRATA_BUILD_MEMORY_MB", 2048) * 1024 * 1024,
    nanoCpus: Math.round(num("STRATA_BUILD_CPUS", 1) * 1e9),
    pidsLimit: num("STRATA_BUILD_PIDS", 512),
    stepTimeoutMs: num("STRATA_BUILD_STEP_TIMEOUT_S", 1800) * 1000,
  };
}

/** Serialises builders of one cache key across every worker sharing the database. */
function advisoryKeyLock(pool: pg.Pool) {
  return async <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    // A dropped connection must fail this build, not crash the worker with an unhandled 'error' event.
    const onError = (err: Error) => console.error("[build] lock connection lost:", err.message);
    client.on("error", onError);
    try {
      await client.query("select pg_advisory_lock(hashtextextended($1, 7041))", [key]);
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

/** Buffers log lines and writes them in batches, so a chatty apt-get does not become one INSERT a line. */
function logWriter(db: Db, buildId: string) {
  let pending: Array<{ buildId: string; packageId: string | null; line: string }> = [];
  let flushing: Promise<void> = Promise.resolve();
  const flush = () => {
    if (pending.length === 0) return flushing;
    const batch = pending;
    pending = [];
    flushing = flushing.then(() => db.insert(buildLogs).values(batch).then(() => undefined)).catch((err) => console.error("[build] log write failed:", err.message));
    return flushing;
  };
  const timer = setInterval(flush, 300);
  return {
    flush,
    write(packageId: string | null, line: string) {
      // A single line cannot flood the table: long lines are cut.
      pending.push({ buildId, packageId, line: line.length > 8000 ? `${line.slice(0, 8000)}… (cut)` : line });
      if (pending.length >= 500) void flush();
    },
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}

/** A message for the build page: what failed and, where we know, how to fix it. */
export function failureMessage(err: unknown): string {
  if (err instanceof StepFailedError || err instanceof BuildTimeoutError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

async function claim(db: Db, buildId: string, workerId: string): Promise<Build | null> {
  const now = new Date();
  const [row] = await db
    .update(builds)
    .set({ status: "running", startedAt: now, heartbeatAt: now, workerId, attempt: sql`${builds.attempt} + 1` })
    .where(and(eq(builds.id, buildId), eq(builds.status, "queued")))
    .returning();
  return row ?? null;
}

export async function runBuild(deps: BuildDeps, buildId: string): Promise<void> {
  const { db } = deps;
  const log = deps.log ?? silentLogger;
  const build = await claim(db, buildId, deps.workerId ?? defaultWorkerId());
  if (!build) return; // cancelled while queued, or another worker has it
  const logs = logWriter(db, build.id);
  const say = (line: string) => logs.write(null, `[strata] ${line}`);
  const abort = new AbortController();
  const onShutdown = () => {
    say("the worker is shutting down: stopping this build");
    abort.abort("shutdown");
  };
  deps.shutdown?.addEventListener("abort", onShutdown, { once: true });
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

  // Package events arrive synchronously; their writes are chained so they land in order.
  let updates: Promise<unknown> = Promise.resolve();
  const update = (fn: () => Promise<unknown>) => {
    updates = updates.then(fn).catch((err) => log.warn(`progress write failed: ${(err as Error).message}`));
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
        say(`${event.id}: reusing the cached image ${event.imageId.slice(7, 19)}`);
        break;
      case "step":
        update(() => db.update(buildPackages).set({ step: event.step, steps: event.steps }).where(packageRow(event.index)));
        break;
      case "finished":
        update(async () => {
          await db
            .update(buildPackages)
            .set({ status: event.result.cached ? "cached" : "built", cached: event.result.cached, imageId: event.result.imageId, durationMs: event.result.durationMs, finishedAt: now })
            .where(packageRow(event.index));
          await db.update(builds).set({ donePackages: event.index + 1 }).where(eq(builds.id, build.id));
        });
        break;
      case "failed":
        update(() => db.update(buildPackages).set({ status: abort.signal.aborted ? "cancelled" : "failed", finishedAt: now }).where(packageRow(event.index)));
        break;
    }
  };

  try {
    const [context] = await db
      .select({ revision: flavourRevisions, flavourName: flavours.name, orgSlug: orgs.slug })
      .from(flavourRevisions)
      .innerJoin(flavours, eq(flavours.id, flavourRevisions.flavourId))
      .innerJoin(orgs, eq(orgs.id, flavours.orgId))
      .where(eq(flavourRevisions.id, build.revisionId));
    const base = await getBaseManifest(db, context.revision.baseManifestId);
    const packages = [...base.packages, ...context.revision.layers];
    const registry = parseRegistry(deps.registry);

    // Fail fast (well within 30 s) and say which part is missing and how to fix it.
    say(`build ${build.version} of ${context.orgSlug}/${context.flavourName} (revision ${build.revisionNumber}, ${base.name} ${base.version}), ${packages.length} packages`);
    if (!(await pingEngine(deps.docker, 10_000)))
      throw new EngineUnavailableError(
        `The Docker engine (${process.env.DOCKER_HOST ?? "/var/run/docker.sock"}) does not answer. Start it (\`npm run up\` starts one) or point DOCKER_HOST at a running engine, then press Retry.`,
      );
    await assertRegistryReachable(registry, 10_000);

    say(`base image ${base.header.base_image}`);
    await ensureBaseImage(deps.docker, base.header.base_image, { workDir: deps.workDir, log });
    const buildEnv = { STRATA_FLAVOUR: context.flavourName, STRATA_VERSION: build.version, STRATA_BASE_VERSION: `${base.name} ${base.version}` };
    const result = await runPackages({
      docker: deps.docker,
      baseImage: base.header.base_image,
      packages,
      buildId: build.id,
      buildEnv,
      limits: deps.limits,
      artefactStore: deps.artefactStore,
      withKeyLock: advisoryKeyLock(deps.pool),
      onLog: (pkg, line) => logs.write(pkg, line),
      onPackage,
      signal: abort.signal,
      log,
    });
    await updates;

    say(`pushing ${registry.url}/${context.orgSlug}/${context.flavourName}:${build.version}`);
    const pushed = await tagAndPush(deps.docker, result.imageId, {
      registry,
      repository: `${context.orgSlug}/${context.flavourName}`,
      tag: build.version,
      labels: {
        "io.strata.flavour": context.flavourName,
        "io.strata.org": context.orgSlug,
        "io.strata.version": build.version,
        "io.strata.build": build.id,
        "io.strata.revision": String(build.revisionNumber),
        "io.strata.base-manifest": `${base.name} ${base.version}`,
        "org.opencontainers.image.title": context.flavourName,
        "org.opencontainers.image.version": build.version,
      },
      log,
    });
    say(`pushed ${pushed.reference}@${pushed.digest}`);
    // Every line is written before the status turns final, so the live log never ends short.
    await logs.flush();

    // Only now, with the image in the registry and every artefact stored, is the build a success.
    await db.transaction(async (tx) => {
      for (const [position, pkg] of result.packages.entries()) {
        const a = pkg.artefact;
        await tx
          .insert(artefacts)
          .values({ digest: a.digest, size: a.size, uncompressedSize: a.uncompressedSize, fileCount: a.fileCount, compression: a.compression, files: a.files, deleted: a.deleted })
          .onConflictDoNothing();
        await tx.update(buildPackages).set({ artefactDigest: a.digest }).where(packageRow(position));
      }
      await tx
        .update(builds)
        .set({ status: "succeeded", imageRef: pushed.reference, imageDigest: pushed.digest, imageSize: pushed.size, currentPackage: null, finishedAt: new Date(), donePackages: packages.length })
        .where(eq(builds.id, build.id));
    });
  } catch (err) {
    await updates;
    const shutdown = abort.signal.aborted && abort.signal.reason === "shutdown";
    const cancelled = !shutdown && (err instanceof BuildCancelledError || abort.signal.aborted);
    const message = shutdown ? "The worker was stopped while building; press Retry to build again." : cancelled ? "Cancelled." : failureMessage(err);
    say(cancelled ? "build cancelled" : `build failed: ${message}`);
    await logs.flush();
    await db.transaction(async (tx) => {
      await tx
        .update(buildPackages)
        .set({ status: cancelled ? "cancelled" : "failed" })
        .where(and(eq(buildPackages.buildId, build.id), inArray(buildPackages.status, ["running"])));
      await tx.update(buildPackages).set({ status: "cancelled" }).where(and(eq(buildPackages.buildId, build.id), eq(buildPackages.status, "pending")));
      await tx.update(builds).set({ status: cancelled ? "cancelled" : "failed", error: message, finishedAt: new Date() }).where(eq(builds.id, build.id));
    });
  } finally {
    deps.shutdown?.removeEventListener("abort", onShutdown);
    clearInterval(beat);
    await logs.close();
    await sweepLeftovers(deps.docker, { buildId: build.id, log }).catch((err) => log.warn(`sweep after build failed: ${(err as Error).message}`));
  }
}

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

export const artefactRoot = (dataDir: string) => path.join(dataDir, "artefacts");
