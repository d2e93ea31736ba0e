// Typed verbs over dockerode for build containers: create (unprivileged, limited), copy files in, run, stream output, commit, remove.
import { Writable, type Readable } from "node:stream";
import type Dockerode from "dockerode";
import { silentLogger, type Logger } from "../../log";
import { engineCall, engineError, LABEL, statusOf } from "./images";

export interface ContainerLimits {
  memoryBytes: number;
  nanoCpus: number;
  pidsLimit: number;
  /** What the container's writable layer may hold (lib/builder/limits.ts's default when absent). */
  diskBytes?: number;
}

/**
 * Capabilities a package build does not need. apt/dpkg still work: they need CHOWN, DAC_OVERRIDE,
 * FOWNER, FSETID, SETUID/SETGID (apt's sandbox user) and SETFCAP (packages that set file caps), which
 * stay. Raw sockets, device nodes and the admin/kernel capabilities go.
 */
export const DROPPED_CAPABILITIES = [
  "NET_RAW",
  "MKNOD",
  "AUDIT_WRITE",
  "NET_ADMIN",
  "SYS_ADMIN",
  "SYS_MODULE",
  "SYS_PTRACE",
  "SYS_RAWIO",
  "SYS_BOOT",
  "SYS_TIME",
] as const;

export interface BuildContainerSpec {
  image: string;
  buildId: string;
  cacheKey: string;
  packageId: string;
  cmd: string[];
  limits: ContainerLimits;
  /** Set only when the parent image runs as a non-root user: package builds run as root. */
  user?: string;
  /** A storage quota on the writable layer, where the engine supports one (see storageQuotaSupported). */
  storageQuotaBytes?: number;
}

/** Creates (does not start) a build container from the parent image, labelled and limited. */
export async function createBuildContainer(
  docker: Dockerode,
  spec: BuildContainerSpec,
  log: Logger = silentLogger,
): Promise<Dockerode.Container> {
  return engineCall(log, "create container", `from ${spec.image} for ${spec.packageId}`, () =>
    docker.createContainer({
      Image: spec.image,
      // The command is the step driver itself; a parent's ENTRYPOINT must not wrap it.
      Entrypoint: [],
      Cmd: spec.cmd,
      // Env and WorkingDir stay the parent's: commit fills empty image fields from the container's,
      // so build variables are exported by the step driver instead (see run-packages.ts).
      User: spec.user,
      Tty: false,
      AttachStdout: true,
      AttachStderr: true,
      OpenStdin: false,
      Labels: {
        [LABEL.managed]: "1",
        [LABEL.build]: spec.buildId,
        [LABEL.cacheKey]: spec.cacheKey,
        [LABEL.package]: spec.packageId,
      },
      HostConfig: {
        Privileged: false,
        CapDrop: [...DROPPED_CAPABILITIES],
        SecurityOpt: ["no-new-privileges"],
        Memory: spec.limits.memoryBytes,
        // Equal to Memory: no swap on top of the limit.
        MemorySwap: spec.limits.memoryBytes,
        NanoCpus: spec.limits.nanoCpus,
        PidsLimit: spec.limits.pidsLimit,
        AutoRemove: false,
        NetworkMode: "bridge",
        // The output is read from the attach stream; a json-file log would copy all of it to the engine's disk.
        LogConfig: { Type: "none", Config: {} },
        ...(spec.storageQuotaBytes ? { StorageOpt: { size: `${Math.ceil(spec.storageQuotaBytes / 1024 / 1024)}m` } } : {}),
      },
    }),
  );
}

/** By engine address: the worker makes a fresh client for each build, and the engine's answer does not change. */
const quotaSupport = new Map<string, Promise<boolean>>();
const engineAddressOf = (docker: Dockerode) => {
  const modem = docker.modem as { socketPath?: string; host?: string; port?: number | string };
  return modem.socketPath ? `unix:${modem.socketPath}` : `${modem.host}:${modem.port}`;
};

/**
 * Whether the engine enforces a size quota on a container's writable layer (`--storage-opt size=`): overlay2 does only
 * on xfs mounted with pquota, so this asks once per engine by creating (never starting) a container with one.
 * A probe that fails for another reason (the engine is down) is not remembered.
 */
export function storageQuotaSupported(docker: Dockerode, image: string, labels: Record<string, string>, log: Logger = silentLogger): Promise<boolean> {
  const address = engineAddressOf(docker);
  const known = quotaSupport.get(address);
  if (known) return known;
  const probe = (async () => {
    let container: Dockerode.Container;
    try {
      container = await docker.createContainer({
        Image: image,
        Entrypoint: [],
        Cmd: ["true"],
        Labels: { ...labels, [LABEL.managed]: "1" },
        HostConfig: { StorageOpt: { size: "64m" }, LogConfig: { Type: "none", Config: {} } },
      });
    } catch (err) {
      const message = (err as Error).message ?? "";
      if (statusOf(err) === 400 || statusOf(err) === 500 ? /storage.?opt|quota|pquota|not supported/i.test(message) : false) {
        log.debug("storage quota: not supported by the engine", { error: message });
        return false;
      }
      quotaSupport.delete(address);
      throw engineError("create container", "(storage quota probe)", err);
    }
    await removeContainer(container, log).catch(() => {});
    return true;
  })();
  quotaSupport.set(address, probe);
  return probe;
}

/** The bytes the container's writable layer holds now (the engine walks it: a call costs with the layer's size). */
export async function writableLayerSize(container: Dockerode.Container, log: Logger = silentLogger): Promise<number> {
  const info = (await engineCall(log, "inspect container size", container.id, () => container.inspect({ size: true } as Dockerode.ContainerInspectOptions))) as { SizeRw?: number };
  return info.SizeRw ?? 0;
}

/** Extracts a tar stream into the container's filesystem at `path` (works on created, unstarted containers). */
export async function putTar(container: Dockerode.Container, tar: Readable | Buffer, path = "/", log: Logger = silentLogger) {
  await engineCall(log, "put archive", `${container.id}:${path}`, () => container.putArchive(tar, { path }));
}

export type OutputStreamName = "stdout" | "stderr";

export interface AttachedOutput {
  /** Resolves when the stream ends (the container exited and its output was read). */
  done: Promise<void>;
  /**
   * Resolves when the stream ended, or when nothing came for `idleMs` while the stream was not paused (an attach
   * connection the engine does not close), whichever is first.
   */
  drained: (idleMs: number) => Promise<void>;
  /** Stops reading and closes the connection (the container was killed: what it printed last does not matter). */
  close: () => void;
}

/**
 * Attaches to stdout/stderr before the container starts (so no early output is lost) and calls
 * `onChunk` for every demultiplexed chunk. When `onChunk` returns a promise the stream is paused until it settles:
 * the engine then stops reading the container's output and the step blocks on its next write, so a step printing
 * faster than its log is stored waits instead of filling the worker's memory.
 */
export async function attachOutput(
  docker: Dockerode,
  container: Dockerode.Container,
  onChunk: (stream: OutputStreamName, chunk: Buffer) => void | Promise<unknown>,
  log: Logger = silentLogger,
): Promise<AttachedOutput> {
  const raw = (await engineCall(log, "attach", container.id, () =>
    container.attach({ stream: true, stdout: true, stderr: true, logs: false }),
  )) as NodeJS.ReadableStream & { destroy?: () => void };
  let waits = 0;
  let lastData = Date.now();
  let closed = false;
  const sink = (name: OutputStreamName) =>
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        lastData = Date.now();
        if (!closed) {
          const wait = onChunk(name, chunk);
          if (wait) {
            // demuxStream reads with 'data' events and ignores write()'s backpressure: pause the source itself.
            if (waits++ === 0) raw.pause();
            void Promise.resolve(wait)
              .catch(() => {})
              .finally(() => {
                lastData = Date.now();
                if (--waits === 0 && !closed) raw.resume();
              });
          }
        }
        cb();
      },
    });
  docker.modem.demuxStream(raw, sink("stdout"), sink("stderr"));
  let ended = false;
  const done = new Promise<void>((resolve) => {
    const end = () => {
      ended = true;
      resolve();
    };
    raw.on("end", end);
    raw.on("close", end);
    // A broken attach must not fail the build by itself; the exit code decides.
    raw.on("error", end);
  });
  const drained = (idleMs: number) =>
    new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (ended || closed || (waits === 0 && Date.now() - lastData >= idleMs)) {
          clearInterval(check);
          resolve();
        }
      }, Math.min(100, idleMs));
      void done.then(() => {
        clearInterval(check);
        resolve();
      });
    });
  const close = () => {
    if (closed) return;
    closed = true;
    raw.removeAllListeners("data");
    raw.destroy?.();
  };
  return { done, drained, close };
}

export async function startContainer(container: Dockerode.Container, log: Logger = silentLogger) {
  await engineCall(log, "start container", container.id, () => container.start());
}

/** Waits until the container is not running and returns its exit code. */
export async function waitContainer(container: Dockerode.Container, log: Logger = silentLogger): Promise<number> {
  const result = (await engineCall(log, "wait container", container.id, () => container.wait())) as { StatusCode: number };
  return result.StatusCode;
}

/** Kills a running container; one that already stopped or vanished is fine. */
export async function killContainer(container: Dockerode.Container, log: Logger = silentLogger) {
  try {
    await engineCall(log, "kill container", container.id, () => container.kill({ signal: "SIGKILL" }));
  } catch (err) {
    if (statusOf(err) !== 404 && statusOf(err) !== 409) throw err;
  }
}

/** Force-removes a container; a missing one (or a removal already under way) is fine. */
export async function removeContainer(container: Dockerode.Container, log: Logger = silentLogger) {
  try {
    await engineCall(log, "remove container", container.id, () => container.remove({ force: true, v: true }));
  } catch (err) {
    if (statusOf(err) !== 404 && statusOf(err) !== 409) throw err;
  }
}

export interface CommitSpec {
  repo: string;
  tag: string;
  /** Full image config for the new image; the engine fills only fields left empty from the container. */
  config: Record<string, unknown>;
  comment?: string;
}

/** Commits the container's changes as a new image and returns the image id. */
export async function commitContainer(container: Dockerode.Container, spec: CommitSpec, log: Logger = silentLogger): Promise<string> {
  const result = (await engineCall(log, "commit container", container.id, () =>
    container.commit({
      // dockerode sends `_query` as the query string and `_body` as the JSON body.
      _query: { container: container.id, repo: spec.repo, tag: spec.tag, comment: spec.comment ?? "", pause: false },
      _body: spec.config,
    }),
  )) as { Id: string };
  return result.Id;
}
