// The core builder (no database): builds each package of a manifest in a container on top of the one before, commits it, and extracts its artefact.
import { randomBytes } from "node:crypto";
import { StringDecoder } from "node:string_decoder";
import type Dockerode from "dockerode";
import tar from "tar-stream";
import { cacheKey as defaultCacheKey } from "../manifest/hash";
import { packageId, type PackageDefinition } from "../manifest/schema";
import { EngineUnavailableError, silentLogger, type Logger } from "../stack/docker";
import type { ArtefactStore } from "./artefact-store";
import {
  attachOutput,
  commitContainer,
  createBuildContainer,
  killContainer,
  putTar,
  removeContainer,
  startContainer,
  waitContainer,
  type ContainerLimits,
} from "./engine/containers";
import { CACHE_REPOSITORY, engineCall, findImageByCacheKey, inspectImage, LABEL } from "./engine/images";
import { extractArtefact, type Artefact, type ExtractionMethod } from "./extract";

export { EngineUnavailableError };

// ---------------------------------------------------------------------------------------------
// Typed errors. `retryable` tells a job handler whether to put the job back (engine trouble) or
// fail the build for good (the package itself is at fault, or the user cancelled).

/** A step exited non-zero: final. */
export class StepFailedError extends Error {
  readonly retryable = false;
  constructor(
    readonly packageId: string,
    readonly step: number,
    readonly exitCode: number,
    /** The last lines of the package's output. */
    readonly outputTail: string[],
    readonly oomKilled = false,
  ) {
    super(
      `${packageId}: step ${step} failed with exit code ${exitCode}${oomKilled ? " (killed: out of memory)" : ""}` +
        (outputTail.length ? `\n${outputTail.join("\n")}` : ""),
    );
    this.name = "StepFailedError";
  }
}

/** A step ran longer than the limit and was killed: final. */
export class BuildTimeoutError extends Error {
  readonly retryable = false;
  constructor(
    readonly packageId: string,
    readonly step: number,
    readonly timeoutMs: number,
  ) {
    super(`${packageId}: step ${step} did not finish within ${Math.round(timeoutMs / 1000)}s and was stopped`);
    this.name = "BuildTimeoutError";
  }
}

/** The build's AbortSignal fired: the running container was killed and removed. */
export class BuildCancelledError extends Error {
  readonly retryable = false;
  constructor(readonly packageId?: string) {
    super(packageId ? `build cancelled while building ${packageId}` : "build cancelled");
    this.name = "BuildCancelledError";
  }
}

// ---------------------------------------------------------------------------------------------

export interface BuildLimits extends ContainerLimits {
  /** Per step; the whole package may take steps × this (a step cannot extend its own deadline). */
  stepTimeoutMs: number;
}

export type ComputeKey = (parentKey: string, def: PackageDefinition, buildEnv?: Record<string, string>) => string;

export interface PackageResult {
  id: string;
  cacheKey: string;
  cached: boolean;
  imageId: string;
  durationMs: number;
  artefact: Artefact;
}

export type PackageEvent =
  | { type: "started"; id: string; index: number; total: number; cacheKey: string }
  | { type: "cached"; id: string; index: number; cacheKey: string; imageId: string }
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
  onLog?: (packageId: string, line: string) => void;
  onPackage?: (event: PackageEvent) => void;
  signal?: AbortSignal;
  log?: Logger;
  gzipLevel?: number;
  /** Extraction source; "auto" picks the overlay fast path when the engine allows it. */
  extractMethod?: "auto" | "upperdir" | "save";
}

export interface RunPackagesResult {
  packages: (PackageResult & { extractMethod?: ExtractionMethod })[];
  /** The image of the last package (the base image when there are no packages). */
  imageId: string;
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
      try {
        if (opts.signal?.aborted) throw new BuildCancelledError(id);
        key = computeKey(parentKey, def, opts.buildEnv);
        opts.onPackage?.({ type: "started", id, index, total: opts.packages.length, cacheKey: key });
        ({ imageId, cached } = await imageFor(opts, def, { key, parentImage, index, log, withKeyLock }));
      } catch (caught) {
        throw fail(id, index, caught);
      }
      // The previous extraction must be done before this one starts (and its failure stops the build).
      if (extracting) await extracting;
      const ctx = { key, imageId, parentImage, log };
      extracting = artefactOf(opts, def, ctx).then(
        ({ artefact, method }) => {
          const result = { id, cacheKey: ctx.key, cached, imageId: ctx.imageId, durationMs: Date.now() - started, artefact, extractMethod: method };
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
  return { packages: results, imageId: parentImage };
}

/** The image for one package's key: a cached one (any org's), or one built now under the key lock. */
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
): Promise<{ imageId: string; cached: boolean }> {
  const id = packageId(def);
  const found = await findImageByCacheKey(opts.docker, ctx.key, ctx.log);
  const outcome =
    found !== null
      ? { imageId: found, cached: true }
      : await ctx.withKeyLock(ctx.key, async () => {
          // Another worker may have built this key while we waited for the lock.
          const meanwhile = await findImageByCacheKey(opts.docker, ctx.key, ctx.log);
          if (meanwhile) return { imageId: meanwhile, cached: true };
          return { imageId: await buildPackage(opts, def, ctx), cached: false };
        });
  if (outcome.cached) opts.onPackage?.({ type: "cached", id, index: ctx.index, cacheKey: ctx.key, imageId: outcome.imageId });
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
  ctx: { key: string; imageId: string; parentImage: string; log: Logger },
): Promise<{ artefact: Artefact; method?: ExtractionMethod }> {
  const indexed = opts.artefactStore.loadIndex<Artefact>(ctx.key);
  if (indexed && opts.artefactStore.has(indexed.digest)) return { artefact: indexed };
  const { method, ...artefact } = await extractArtefact(opts.docker, {
    imageId: ctx.imageId,
    parentImageId: ctx.parentImage,
    filter: { includes: def.includes, excludes: def.excludes },
    store: opts.artefactStore,
    gzipLevel: opts.gzipLevel,
    method: opts.extractMethod,
    signal: opts.signal,
    log: ctx.log,
  });
  opts.artefactStore.saveIndex(ctx.key, artefact);
  return { artefact, method };
}

// ---------------------------------------------------------------------------------------------
// One package: container → overlay files → steps → commit → remove.

const BUILD_DIR = ".strata-build";
/** Steps up to this many bytes travel as arguments of the container command (below ARG_MAX with room). */
const STEPS_AS_ARGS_MAX_BYTES = 512 * 1024;

const shellQuote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

interface StepPlan {
  cmd: string[];
  /** Step files to add to the tar put into the container (empty when the steps are arguments). */
  stepFiles: string[];
}

/**
 * The driver runs each step with `/bin/sh -ec` from `/`, like a Dockerfile RUN, after printing a
 * marker line (with a per-container nonce) so the log follower knows which step runs and can time
 * it. Build variables are exported by the script, not set as container Env: commit would bake
 * container Env into the image. Steps normally travel as arguments (`sh -c script name steps...`),
 * which spares a putArchive round trip (the engine re-executes itself to untar, ~70 ms); a package
 * with huge steps gets them as files in /.strata-build instead, which the driver deletes at the
 * end (made and removed in one layer, they leave no trace).
 */
function planSteps(def: PackageDefinition, env: Record<string, string>, marker: string): StepPlan {
  const exports = Object.entries(env)
    .filter(([name]) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
    .map(([name, value]) => `export ${name}=${shellQuote(value)}`);
  const asArgs = def.steps.reduce((sum, step) => sum + Buffer.byteLength(step), 0) <= STEPS_AS_ARGS_MAX_BYTES;
  const script = [
    "set -e",
    // One stream: Docker reads stdout and stderr through separate pipes, so their lines would
    // otherwise interleave in whatever order the engine happened to read them.
    "exec 2>&1",
    ...exports,
    "n=0",
    "run_step() {",
    "  n=$((n+1))",
    `  printf '%s %s\\n' ${shellQuote(marker)} "$n"`,
    "  cd /",
    '  /bin/sh -ec "$1" "strata-step-$n"',
    "}",
    ...(asArgs
      ? ['for step in "$@"; do run_step "$step"; done']
      : [`for f in /${BUILD_DIR}/steps/*; do run_step "$(cat "$f")"; done`, `cd / && rm -rf /${BUILD_DIR}`]),
  ].join("\n");
  return asArgs
    ? { cmd: ["/bin/sh", "-c", script, "strata-build", ...def.steps], stepFiles: [] }
    : { cmd: ["/bin/sh", "-c", script, "strata-build"], stepFiles: def.steps };
}

/** The tar put at "/" before the container starts: overlay files, and step files when the steps are too big for arguments. */
function buildTar(def: PackageDefinition, stepFiles: string[]): Promise<Buffer> {
  const pack = tar.pack();
  const now = new Date();
  for (const file of def.files) {
    pack.entry({ name: file.path.replace(/^\/+/, ""), mode: parseInt(file.mode, 8), mtime: now, uid: 0, gid: 0 }, file.content);
  }
  if (stepFiles.length > 0) {
    const dirMode = { type: "directory" as const, mode: 0o700, mtime: now, uid: 0, gid: 0 };
    pack.entry({ name: `${BUILD_DIR}/`, ...dirMode });
    pack.entry({ name: `${BUILD_DIR}/steps/`, ...dirMode });
    stepFiles.forEach((step, i) => {
      pack.entry({ name: `${BUILD_DIR}/steps/${String(i + 1).padStart(4, "0")}`, mode: 0o600, mtime: now }, step);
    });
  }
  pack.finalize();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    pack.on("data", (c) => void chunks.push(c as Buffer));
    pack.on("end", () => resolve(Buffer.concat(chunks)));
    pack.on("error", reject);
  });
}

/**
 * Builds one package and returns the committed image id. A package with neither steps nor files
 * is still committed (the container is never started): Docker adds no layer for an unchanged
 * container, so its image shares the parent's layers, differs only in labels, and has an empty
 * artefact. Every package thus has its own image and cache entry, and "the layer of package i" is
 * always answered by comparing image i with image i-1.
 */
async function buildPackage(
  opts: RunPackagesOptions,
  def: PackageDefinition,
  ctx: { key: string; parentImage: string; index: number; log: Logger },
): Promise<string> {
  const { docker } = opts;
  const { log } = ctx;
  const id = packageId(def);
  const parent = await inspectImage(docker, ctx.parentImage, log);
  if (!parent) throw new Error(`${id}: the parent image ${ctx.parentImage} vanished from the engine`);
  const parentConfig = (parent.Config ?? {}) as unknown as Record<string, unknown> & {
    User?: string;
    Cmd?: string[] | null;
    Labels?: Record<string, string> | null;
  };
  const marker = `@@strata-step-${randomBytes(12).toString("hex")}@@`;
  const env = { ...(opts.buildEnv ?? {}), DEBIAN_FRONTEND: "noninteractive" };
  const plan = planSteps(def, env, marker);
  const user = parentConfig.User && !["0", "root", "0:0", "root:root"].includes(parentConfig.User) ? "0" : undefined;

  const container = await createBuildContainer(
    docker,
    {
      image: ctx.parentImage,
      buildId: opts.buildId,
      cacheKey: ctx.key,
      packageId: id,
      cmd: plan.cmd,
      limits: opts.limits,
      user,
    },
    log,
  );
  try {
    if (def.files.length > 0 || plan.stepFiles.length > 0) await putTar(container, await buildTar(def, plan.stepFiles), "/", log);
    if (def.steps.length > 0) await runSteps(opts, def, container, marker, ctx.index);
    if (opts.signal?.aborted) throw new BuildCancelledError(id);

    // The commit gets the parent's config, so nothing of the build container (its Cmd, User,
    // labels) leaks into the image; the engine fills only fields left empty from the container,
    // hence a Cmd is always given.
    const config = {
      ...parentConfig,
      Cmd: parentConfig.Cmd && parentConfig.Cmd.length > 0 ? parentConfig.Cmd : ["/bin/sh"],
      Labels: {
        ...(parentConfig.Labels ?? {}),
        [LABEL.managed]: "1",
        [LABEL.role]: "cache",
        [LABEL.cacheKey]: ctx.key,
        [LABEL.package]: id,
        [LABEL.build]: opts.buildId,
      },
    };
    const imageId = await commitContainer(
      container,
      { repo: CACHE_REPOSITORY, tag: ctx.key, config, comment: `strata package ${id} ${def.version}` },
      log,
    );
    return imageId;
  } finally {
    await removeContainer(container, log).catch((err: Error) =>
      log.warn("could not remove build container; the sweep will", { container: container.id, error: err.message }),
    );
  }
}

/** Splits a byte stream into lines; very long lines are cut so one line cannot hold unbounded memory. */
class LineSplitter {
  private pending = "";
  // A multi-byte character can be cut between two chunks.
  private readonly decoder = new StringDecoder("utf8");
  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLine = 16 * 1024,
  ) {}
  push(chunk: Buffer) {
    this.pending += this.decoder.write(chunk);
    let nl: number;
    while ((nl = this.pending.indexOf("\n")) >= 0) {
      this.onLine(this.pending.slice(0, nl).replace(/\r$/, ""));
      this.pending = this.pending.slice(nl + 1);
    }
    while (this.pending.length > this.maxLine) {
      this.onLine(this.pending.slice(0, this.maxLine));
      this.pending = this.pending.slice(this.maxLine);
    }
  }
  flush() {
    this.pending += this.decoder.end();
    if (this.pending) this.onLine(this.pending.replace(/\r$/, ""));
    this.pending = "";
  }
}

const TAIL_LINES = 40;

/** Runs the container to completion, streaming lines to onLog and enforcing the step timeout and the signal. */
async function runSteps(
  opts: RunPackagesOptions,
  def: PackageDefinition,
  container: Dockerode.Container,
  marker: string,
  index: number,
): Promise<void> {
  const id = packageId(def);
  const log = opts.log ?? silentLogger;
  const tail: string[] = [];
  let step = 0;
  let stopped: "timeout" | "cancel" | null = null;
  const stop = (why: "timeout" | "cancel") => {
    if (stopped) return;
    stopped = why;
    void killContainer(container, log).catch(() => {});
  };

  let stepTimer: NodeJS.Timeout | undefined;
  const armStepTimer = () => {
    clearTimeout(stepTimer);
    stepTimer = setTimeout(() => stop("timeout"), opts.limits.stepTimeoutMs);
  };
  // Markers restart the step clock; this cap keeps a step that prints fake markers bounded too.
  const packageTimer = setTimeout(() => stop("timeout"), opts.limits.stepTimeoutMs * def.steps.length);
  const onAbort = () => stop("cancel");

  const onLine = (stream: "stdout" | "stderr", line: string) => {
    if (stream === "stdout" && line.startsWith(`${marker} `)) {
      step = Number(line.slice(marker.length + 1)) || step + 1;
      armStepTimer();
      const command = (def.steps[step - 1] ?? "").split("\n")[0].slice(0, 200);
      opts.onPackage?.({ type: "step", id, index, step, steps: def.steps.length, command });
      return;
    }
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    opts.onLog?.(id, line);
  };
  const splitters = {
    stdout: new LineSplitter((l) => onLine("stdout", l)),
    stderr: new LineSplitter((l) => onLine("stderr", l)),
  };

  try {
    if (opts.signal?.aborted) throw new BuildCancelledError(id);
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    const { done } = await attachOutput(opts.docker, container, (name, chunk) => splitters[name].push(chunk), log);
    await startContainer(container, log);
    armStepTimer();
    const exitCode = await waitContainer(container, log);
    // The attach stream may still hold the last output; give it a moment to drain.
    await Promise.race([done, new Promise((r) => setTimeout(r, 2_000))]);
    splitters.stdout.flush();
    splitters.stderr.flush();
    if (stopped === "cancel") throw new BuildCancelledError(id);
    if (stopped === "timeout") throw new BuildTimeoutError(id, Math.max(step, 1), opts.limits.stepTimeoutMs);
    if (exitCode !== 0) {
      const state = (await engineCall(log, "inspect container", container.id, () => container.inspect()).catch(() => null))?.State;
      throw new StepFailedError(id, Math.max(step, 1), exitCode, tail, state?.OOMKilled ?? false);
    }
  } finally {
    clearTimeout(stepTimer);
    clearTimeout(packageTimer);
    opts.signal?.removeEventListener("abort", onAbort);
  }
}
