// One package: a container from the parent image → overlay files → the steps (with live output, step timer, cancel and
// the output and disk limits) → commit → remove.
import { randomBytes } from "node:crypto";
import type Dockerode from "dockerode";
import tar from "tar-stream";
import { packageId, type PackageDefinition } from "../manifest/schema";
import { silentLogger, type Logger } from "../log";
import {
  attachOutput,
  commitContainer,
  createBuildContainer,
  killContainer,
  putTar,
  removeContainer,
  startContainer,
  storageQuotaSupported,
  waitContainer,
  writableLayerSize,
} from "./engine/containers";
import { CACHE_REPOSITORY, engineCall, inspectImage, LABEL } from "./engine/images";
import { BuildCancelledError, BuildTimeoutError, StepFailedError } from "./errors";
import { DEFAULT_DISK_BYTES, DiskLimitError, LIMIT_SETTINGS } from "./limits";
import { LineSplitter } from "./line-splitter";
import type { RunPackagesOptions } from "./run-packages";

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
export async function buildPackage(
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

  // Only a package with steps runs its container, so only then is there a disk to watch.
  const disk = def.steps.length > 0 ? await diskGuard(opts, id, ctx.parentImage, log) : null;
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
      storageQuotaBytes: disk?.method === "quota" ? disk.limitBytes : undefined,
    },
    log,
  );
  try {
    if (def.files.length > 0 || plan.stepFiles.length > 0) await putTar(container, await buildTar(def, plan.stepFiles), "/", log);
    if (disk) await runSteps(opts, def, container, marker, ctx.index, disk);
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

const TAIL_LINES = 40;
/** How often a running container's writable layer is measured when the engine has no storage quota. */
const DISK_POLL_MS = 3_000;
/** After the container exited, how long the output may stay silent before the attach stream counts as drained. */
const DRAIN_IDLE_MS = 2_000;

/** How the disk limit is kept: the engine's storage quota, or measuring the writable layer while steps run. */
interface DiskGuard {
  limitBytes: number;
  method: "quota" | "poll";
}

/** Builds whose log already says how the disk limit is kept (one line a build, not one a package). */
const diskMethodSaid = new WeakSet<RunPackagesOptions>();

async function diskGuard(opts: RunPackagesOptions, id: string, parentImage: string, log: Logger): Promise<DiskGuard> {
  const limitBytes = opts.limits.diskBytes ?? DEFAULT_DISK_BYTES;
  const quota = await storageQuotaSupported(opts.docker, parentImage, { [LABEL.build]: opts.buildId }, log);
  if (!diskMethodSaid.has(opts)) {
    diskMethodSaid.add(opts);
    const how = quota
      ? "a storage quota on each build container"
      : "measuring each build container's writable layer every few seconds and after each step (the engine's storage driver has no quotas)";
    await opts.onLog?.(id, `[strata] disk limit ${Math.round(limitBytes / 1024 / 1024)} MB a package (${LIMIT_SETTINGS.disk}), kept by ${how}`);
  }
  return { limitBytes, method: quota ? "quota" : "poll" };
}

type StopReason = "timeout" | "cancel" | "limit";

/**
 * Runs the container to completion, streaming lines to onLog and enforcing the step timeout, the signal, the output
 * limits (onLog throws past them) and the disk limit. Whatever stops it, the container is killed at once: the kill
 * never waits behind output still being read or stored.
 */
async function runSteps(
  opts: RunPackagesOptions,
  def: PackageDefinition,
  container: Dockerode.Container,
  marker: string,
  index: number,
  disk: DiskGuard,
): Promise<void> {
  const id = packageId(def);
  const log = opts.log ?? silentLogger;
  const tail: string[] = [];
  let step = 0;
  let stopped: StopReason | null = null;
  let limitError: Error | null = null;
  let attached: Awaited<ReturnType<typeof attachOutput>> | null = null;
  const stop = (why: StopReason, err?: Error) => {
    if (stopped) return;
    stopped = why;
    limitError = err ?? null;
    // Nothing more is read: what a killed step printed last does not matter, and a backlog must not delay the kill.
    attached?.close();
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

  let measuring = false;
  let lastMeasured = 0;
  let measureMs = 0;
  /** `atStep`: a step just ended, measure unless the last measurement was just now. */
  const checkDisk = async (atStep = false) => {
    // The engine walks the whole layer to measure it: a big layer is measured less often (at most a fifth of the time).
    const interval = Math.max(atStep ? 0 : DISK_POLL_MS, measureMs * 5);
    if (disk.method !== "poll" || measuring || stopped || Date.now() - lastMeasured < interval - 100) return;
    measuring = true;
    const started = Date.now();
    try {
      const used = await writableLayerSize(container, log);
      measureMs = Date.now() - started;
      lastMeasured = Date.now();
      if (used > disk.limitBytes) stop("limit", new DiskLimitError(id, disk.limitBytes, used));
    } catch (err) {
      // A failed measurement does not fail the build; the next one (or the one after the exit) decides.
      log.debug("disk check failed", { container: container.id, error: (err as Error).message });
    } finally {
      measuring = false;
    }
  };
  const diskTimer = disk.method === "poll" ? setInterval(() => void checkDisk(), 1_000) : undefined;

  /** The log writer's request to wait, from the lines of the chunk being split. */
  let wait: Promise<unknown> | undefined;
  const onLine = (stream: "stdout" | "stderr", line: string) => {
    if (stopped) return;
    if (stream === "stdout" && line.startsWith(`${marker} `)) {
      step = Number(line.slice(marker.length + 1)) || step + 1;
      armStepTimer();
      void checkDisk(true);
      const command = (def.steps[step - 1] ?? "").split("\n")[0].slice(0, 200);
      opts.onPackage?.({ type: "step", id, index, step, steps: def.steps.length, command });
      return;
    }
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    try {
      const result = opts.onLog?.(id, line);
      if (result instanceof Promise) wait = result;
    } catch (err) {
      stop("limit", err as Error);
    }
  };
  const splitters = {
    stdout: new LineSplitter((l) => onLine("stdout", l)),
    stderr: new LineSplitter((l) => onLine("stderr", l)),
  };
  const onChunk = (name: "stdout" | "stderr", chunk: Buffer) => {
    if (stopped) return undefined;
    wait = undefined;
    splitters[name].push(chunk);
    return wait;
  };

  try {
    if (opts.signal?.aborted) throw new BuildCancelledError(id);
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    attached = await attachOutput(opts.docker, container, onChunk, log);
    await startContainer(container, log);
    armStepTimer();
    const exitCode = await waitContainer(container, log);
    // The attach stream may still hold the last output; let it drain (it ends, or stays silent for a moment).
    if (stopped) attached.close();
    else await attached.drained(DRAIN_IDLE_MS);
    if (!stopped) {
      splitters.stdout.flush();
      splitters.stderr.flush();
    }
    attached.close();
    // (Assigned in callbacks; TypeScript cannot see that.)
    const why = stopped as StopReason | null;
    if (why === "cancel") throw new BuildCancelledError(id);
    if (why === "timeout") throw new BuildTimeoutError(id, Math.max(step, 1), opts.limits.stepTimeoutMs);
    if (why === "limit" && limitError) throw limitError;
    // A step that filled the disk quickly and exited between two measurements.
    if (disk.method === "poll") {
      const used = await writableLayerSize(container, log);
      if (used > disk.limitBytes) throw new DiskLimitError(id, disk.limitBytes, used);
    }
    if (exitCode !== 0) {
      if (disk.method === "quota" && tail.some((line) => line.includes("No space left on device"))) throw new DiskLimitError(id, disk.limitBytes);
      const state = (await engineCall(log, "inspect container", container.id, () => container.inspect()).catch(() => null))?.State;
      throw new StepFailedError(id, Math.max(step, 1), exitCode, tail, state?.OOMKilled ?? false);
    }
  } finally {
    attached?.close();
    clearTimeout(stepTimer);
    clearTimeout(packageTimer);
    clearInterval(diskTimer);
    opts.signal?.removeEventListener("abort", onAbort);
  }
}
