// The core builder (no database): builds each package of a manifest in a container on top of the one before, commits it, and extracts its artefact.
import type Dockerode from "dockerode";
import { cacheKey as defaultCacheKey } from "../manifest/hash";
import { packageId, type PackageDefinition } from "../manifest/schema";
import { silentLogger, type Logger } from "../log";
import type { ArtefactStore } from "./artefact-store";
import { buildPackage } from "./build-package";
import type { ContainerLimits } from "./engine/containers";
import type { OutputLimits } from "./limits";
import { findImageByCacheKey, inspectImage } from "./engine/images";
import { BuildCancelledError } from "./errors";
import { extractArtefact, withinEntryLimit, type Artefact, type CompressionChoice, type ExtractionMethod } from "./extract";
import { pullCachedPackage, type SharedCache, type SharedCachePublisher } from "./shared-cache";

export { BuildCancelledError, BuildTimeoutError, EngineUnavailableError, StepFailedError } from "./errors";

// ---------------------------------------------------------------------------------------------

export interface BuildLimits extends ContainerLimits {
  /** Per step; the whole package may take steps × this (a step cannot extend its own deadline). */
  stepTimeoutMs: number;
  /** What the build may print (lib/builder/limits.ts); its defaults when absent. */
  output?: OutputLimits;
  /** The whole build, enforced by runBuild; limits.ts's default when absent. */
  deadlineMs?: number;
}

export type ComputeKey = (parentKey: string, def: PackageDefinition, buildEnv?: Record<string, string>) => string;

export interface PackageResult {
  id: string;
  cacheKey: string;
  cached: boolean;
  /** Where a cached image came from: this engine, or pulled from the registry's shared cache. */
  cacheSource?: "engine" | "registry";
  imageId: string;
  durationMs: number;
  artefact: Artefact;
}

export type PackageEvent =
  | { type: "started"; id: string; index: number; total: number; cacheKey: string }
  | { type: "cached"; id: string; index: number; cacheKey: string; imageId: string; source: "engine" | "registry" }
  | { type: "step"; id: string; index: number; step: number; steps: number; command: string }
  | { type: "committed"; id: string; index: number; imageId: string }
  | { type: "finished"; id: string; index: number; result: PackageResult }
  | { type: "failed"; id: string; index: number; error: Error };

export interface RunPackagesOptions {
  docker: Dockerode;
  /** Reference or id of the image the first package builds on (see ensureBaseImage). */
  baseImage: string;
  packages: PackageDefinition[];
  buildId: string;
  /** Variables for every step (e.g. STRATA_FLAVOUR). They are not baked into the image config. */
  buildEnv?: Record<string, string>;
  limits: BuildLimits;
  artefactStore: ArtefactStore;
  /** Defaults to lib/manifest/hash.ts `cacheKey`. */
  computeKey?: ComputeKey;
  /** Serialises builders of one key across workers (e.g. a Postgres advisory lock); defaults to an in-process lock. */
  withKeyLock?: <T>(key: string, fn: () => Promise<T>) => Promise<T>;
  /**
   * Each line a step prints. When it returns a promise (the log's writer is behind), the container's output is paused
   * until it settles. It may throw (an output limit was passed): the container is killed and the package fails with
   * that error.
   */
  onLog?: (packageId: string, line: string) => unknown;
  onPackage?: (event: PackageEvent) => void;
  signal?: AbortSignal;
  log?: Logger;
  /** Artefact compression; compressionFromEnv() when absent. */
  compression?: CompressionChoice;
  /**
   * Extraction source when the layer is not read from the shared cache's registry: "save" (default, the engine's
   * save stream) or "auto" (the overlay2 fast path when the engine allows it).
   */
  extractMethod?: "auto" | "upperdir" | "save";
  /** The registry's shared cache: keys this engine lacks are pulled from it before being built. */
  sharedCache?: SharedCache;
  /** Pushes every package image to the shared cache in the background. */
  publisher?: SharedCachePublisher;
  /**
   * Build every package again, ignoring what the engine, the registry and the artefact index hold for its key
   * (still under the key lock); the new image, its push and its artefact then become the cached ones for the key.
   */
  fromScratch?: boolean;
}

export interface RunPackagesResult {
  packages: (PackageResult & { extractMethod?: ExtractionMethod })[];
  /** The image of the last package (the base image when there are no packages). */
  imageId: string;
  /** The cache key of the last package; null when there are no packages. */
  lastKey: string | null;
}

/** Every package's cache key, computed up front: a key depends only on the base image and the definitions below it. */
export function planKeys(baseImageId: string, packages: readonly PackageDefinition[], buildEnv?: Record<string, string>, computeKey: ComputeKey = defaultCacheKey as ComputeKey): string[] {
  const keys: string[] = [];
  let parent = baseImageId;
  for (const def of packages) {
    parent = computeKey(parent, def, buildEnv);
    keys.push(parent);
  }
  return keys;
}

const keyLocks = new Map<string, Promise<unknown>>();

/** Default key lock: serialises builders of one key inside this process only. */
export async function localKeyLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const before = keyLocks.get(key) ?? Promise.resolve();
  const run = before.catch(() => {}).then(fn);
  const tail = run.catch(() => {});
  keyLocks.set(key, tail);
  try {
    return await run;
  } finally {
    if (keyLocks.get(key) === tail) keyLocks.delete(key);
  }
}

/**
 * Builds every package in order, reusing cached images by key; returns per-package results and the
 * final image. A package's artefact is extracted while the next package builds (extraction is CPU,
 * a build mostly waits on the network), with at most one extraction in flight; so a package's
 * "finished" event may come after the next package's "started".
 */
export async function runPackages(opts: RunPackagesOptions): Promise<RunPackagesResult> {
  const log = opts.log ?? silentLogger;
  const computeKey = opts.computeKey ?? (defaultCacheKey as ComputeKey);
  const withKeyLock = opts.withKeyLock ?? localKeyLock;
  const base = await inspectImage(opts.docker, opts.baseImage, log);
  if (!base) throw new Error(`The base image ${opts.baseImage} is not in the Docker engine (call ensureBaseImage first)`);

  let parentKey = base.Id;
  let parentImage = base.Id;
  const results: RunPackagesResult["packages"] = [];
  let extracting: Promise<void> | null = null;

  // One error type for callers: an abort seen mid-extraction surfaces as the signal's AbortError.
  const fail = (id: string, index: number, caught: unknown): Error => {
    const err = opts.signal?.aborted && !(caught instanceof BuildCancelledError) ? new BuildCancelledError(id) : (caught as Error);
    opts.onPackage?.({ type: "failed", id, index, error: err });
    return err;
  };

  try {
    for (const [index, def] of opts.packages.entries()) {
      const id = packageId(def);
      const started = Date.now();
      let key: string;
      let imageId: string;
      let cached: boolean;
      let cacheSource: "engine" | "registry" | undefined;
      let inRegistry: Promise<void> | undefined;
      try {
        if (opts.signal?.aborted) throw new BuildCancelledError(id);
        key = computeKey(parentKey, def, opts.buildEnv);
        opts.onPackage?.({ type: "started", id, index, total: opts.packages.length, cacheKey: key });
        ({ imageId, cached, source: cacheSource } = await imageFor(opts, def, { key, parentImage, index, log, withKeyLock }));
        // The registry gets every image it lacks (a pulled one it has already).
        inRegistry = cacheSource === "registry" ? Promise.resolve() : opts.publisher?.ensure(id, key, imageId, { justBuilt: !cached });
      } catch (caught) {
        throw fail(id, index, caught);
      }
      // The previous extraction must be done before this one starts (and its failure stops the build).
      if (extracting) await extracting;
      const ctx = { key, imageId, parentImage, log, inRegistry, rebuilt: opts.fromScratch === true };
      extracting = artefactOf(opts, def, ctx).then(
        ({ artefact, method }) => {
          const result = { id, cacheKey: ctx.key, cached, cacheSource, imageId: ctx.imageId, durationMs: Date.now() - started, artefact, extractMethod: method };
          results[index] = result;
          opts.onPackage?.({ type: "finished", id, index, result });
        },
        (caught: unknown) => {
          throw fail(id, index, caught);
        },
      );
      parentKey = key;
      parentImage = imageId;
    }
    if (extracting) await extracting;
  } catch (err) {
    // Never leave an extraction running (or its rejection unhandled) after we return.
    await extracting?.catch(() => {});
    throw err;
  }
  return { packages: results, imageId: parentImage, lastKey: opts.packages.length ? parentKey : null };
}

/**
 * The image for one package's key: this engine's cached one, else the registry's shared one (pulled), else one
 * built now under the key lock (another worker may have built it meanwhile, so both caches are asked again).
 * From scratch, one built now under the key lock whatever the caches hold.
 */
async function imageFor(
  opts: RunPackagesOptions,
  def: PackageDefinition,
  ctx: {
    key: string;
    parentImage: string;
    index: number;
    log: Logger;
    withKeyLock: <T>(key: string, fn: () => Promise<T>) => Promise<T>;
  },
): Promise<{ imageId: string; cached: boolean; source?: "engine" | "registry" }> {
  const id = packageId(def);
  const lookup = async (): Promise<{ imageId: string; cached: true; source: "engine" | "registry" } | null> => {
    const local = await findImageByCacheKey(opts.docker, ctx.key, ctx.log);
    if (local) return { imageId: local, cached: true, source: "engine" };
    const pulled = opts.sharedCache ? await pullCachedPackage(opts.docker, opts.sharedCache, ctx.key, ctx.log) : null;
    return pulled ? { imageId: pulled, cached: true, source: "registry" } : null;
  };
  // From scratch, the caches are not asked: the commit moves the engine tag, and the publisher pushes the new image.
  const outcome = opts.fromScratch
    ? await ctx.withKeyLock(ctx.key, async () => ({ imageId: await buildPackage(opts, def, ctx), cached: false as const }))
    : ((await lookup()) ??
      (await ctx.withKeyLock(ctx.key, async () => (await lookup()) ?? { imageId: await buildPackage(opts, def, ctx), cached: false as const })));
  if (outcome.cached) opts.onPackage?.({ type: "cached", id, index: ctx.index, cacheKey: ctx.key, imageId: outcome.imageId, source: outcome.source! });
  else opts.onPackage?.({ type: "committed", id, index: ctx.index, imageId: outcome.imageId });
  if (opts.signal?.aborted) throw new BuildCancelledError(id);
  return outcome;
}

/**
 * The artefact of a package image. The store keeps an index from cache key to artefact, so a cached
 * layer (most of any build) is not extracted again; a missing index or blob means extract now.
 */
async function artefactOf(
  opts: RunPackagesOptions,
  def: PackageDefinition,
  ctx: { key: string; imageId: string; parentImage: string; log: Logger; inRegistry?: Promise<void>; rebuilt: boolean },
): Promise<{ artefact: Artefact; method?: ExtractionMethod }> {
  // A rebuilt image is extracted again; saving its index below makes it the key's artefact from now on.
  const indexed = ctx.rebuilt ? null : opts.artefactStore.loadIndex<Artefact>(ctx.key);
  if (indexed && opts.artefactStore.has(indexed.digest) && withinEntryLimit(indexed)) return { artefact: indexed };
  // With a shared cache the layer is read from the registry once the push is done; without, from the engine.
  const fromRegistry = opts.sharedCache && ctx.inRegistry && (await ctx.inRegistry.then(() => true, () => false));
  const { method, ...artefact } = await extractArtefact(opts.docker, {
    imageId: ctx.imageId,
    parentImageId: ctx.parentImage,
    filter: { includes: def.includes, excludes: def.excludes },
    packageId: packageId(def),
    store: opts.artefactStore,
    compression: opts.compression,
    method: opts.extractMethod ?? "save",
    registry: fromRegistry ? { client: opts.sharedCache!.registry, repository: opts.sharedCache!.repository, tag: ctx.key } : undefined,
    signal: opts.signal,
    log: ctx.log,
  });
  opts.artefactStore.saveIndex(ctx.key, artefact);
  return { artefact, method };
}

