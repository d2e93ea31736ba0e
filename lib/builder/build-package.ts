// One package: a container from the parent image → overlay files → the steps (with live output, step timer and cancel) → commit → remove.
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
  waitContainer,
} from "./engine/containers";
import { CACHE_REPOSITORY, engineCall, inspectImage, LABEL } from "./engine/images";
import { BuildCancelledError, BuildTimeoutError, StepFailedError } from "./errors";
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
