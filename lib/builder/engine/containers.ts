// Typed verbs over dockerode for build containers: create (unprivileged, limited), copy files in, run, stream output, commit, remove.
import { Writable, type Readable } from "node:stream";
import type Dockerode from "dockerode";
import { silentLogger, type Logger } from "../../log";
import { engineCall, LABEL, statusOf } from "./images";

export interface ContainerLimits {
  memoryBytes: number;
  nanoCpus: number;
  pidsLimit: number;
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
      },
    }),
  );
}

/** Extracts a tar stream into the container's filesystem at `path` (works on created, unstarted containers). */
export async function putTar(container: Dockerode.Container, tar: Readable | Buffer, path = "/", log: Logger = silentLogger) {
  await engineCall(log, "put archive", `${container.id}:${path}`, () => container.putArchive(tar, { path }));
}

export type OutputStreamName = "stdout" | "stderr";

/**
 * Attaches to stdout/stderr before the container starts (so no early output is lost) and calls
 * `onChunk` for every demultiplexed chunk. `done` resolves when the stream ends (the container exited).
 */
export async function attachOutput(
  docker: Dockerode,
  container: Dockerode.Container,
  onChunk: (stream: OutputStreamName, chunk: Buffer) => void,
  log: Logger = silentLogger,
): Promise<{ done: Promise<void> }> {
  const raw = (await engineCall(log, "attach", container.id, () =>
    container.attach({ stream: true, stdout: true, stderr: true, logs: false }),
  )) as NodeJS.ReadableStream;
  const sink = (name: OutputStreamName) =>
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        onChunk(name, chunk);
        cb();
      },
    });
  docker.modem.demuxStream(raw, sink("stdout"), sink("stderr"));
  const done = new Promise<void>((resolve) => {
    raw.on("end", resolve);
    raw.on("close", resolve);
    // A broken attach must not fail the build by itself; the exit code decides.
    raw.on("error", () => resolve());
  });
  return { done };
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
