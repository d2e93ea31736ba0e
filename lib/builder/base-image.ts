// Makes sure the engine has the base image the first package builds on; the default Debian base is made locally with debootstrap.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type Dockerode from "dockerode";
import { silentLogger, type Logger } from "../log";
import { engineCall, inspectImage, LABEL, removeImage, splitRef, tagImage } from "./engine/images";
import { baseCacheTag, pullShared, type SharedCache } from "./shared-cache";
import { followProgress } from "./engine/streams";
import { BuildCancelledError } from "./errors";

export const DEFAULT_BASE_IMAGE = "strata/debian:bookworm";
const DEBIAN_MIRROR = "http://deb.debian.org/debian";
const LOCK_WAIT_MS = 20 * 60_000;

export class BaseImageUnavailableError extends Error {
  readonly retryable = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "BaseImageUnavailableError";
  }
}

/** Concurrent callers in this process share one attempt per reference. */
const inFlight = new Map<string, Promise<string>>();

export interface BaseImageOptions {
  workDir: string;
  log?: Logger;
  /**
   * The registry's shared cache: an engine that lacks the base takes the one other workers use (same image id,
   * so the same cache keys) instead of making its own, whose new id would make every key of every build new.
   */
  sharedCache?: SharedCache;
  /**
   * The build's signal (the shared cache's when left out): when it fires the caller stops waiting at once. The making
   * or pulling itself goes on, as other builds may be waiting for the same base.
   */
  signal?: AbortSignal;
}

/** Returns the image id of `ref`: from the engine, else the shared cache, else made (default base) or pulled (anything else). */
export function ensureBaseImage(docker: Dockerode, ref: string, opts: BaseImageOptions): Promise<string> {
  let attempt = inFlight.get(ref);
  if (!attempt) {
    // Shared by every caller: one caller's cancel must not stop it for the others.
    const shared = opts.sharedCache ? { ...opts.sharedCache, signal: undefined } : undefined;
    attempt = ensureUncached(docker, ref, { ...opts, sharedCache: shared, signal: undefined }).finally(() => inFlight.delete(ref));
    inFlight.set(ref, attempt);
  }
  return untilAborted(attempt, opts.signal ?? opts.sharedCache?.signal);
}

/** `work`, or a BuildCancelledError as soon as `signal` fires (the work itself is not stopped). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) return Promise.reject(new BuildCancelledError());
  return new Promise<T>((resolve, reject) => {
    const stop = () => reject(new BuildCancelledError());
    signal.addEventListener("abort", stop, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", stop));
  });
}

async function ensureUncached(docker: Dockerode, ref: string, opts: BaseImageOptions): Promise<string> {
  const log = opts.log ?? silentLogger;
  const present = await inspectImage(docker, ref, log);
  if (present) return present.Id;
  if (opts.sharedCache) {
    const shared = await pullShared(docker, opts.sharedCache, baseCacheTag(ref), ref, log);
    if (shared) {
      log.info("took the base image from the shared cache", { ref, id: shared });
      return shared;
    }
  }
  if (ref === DEFAULT_BASE_IMAGE) return makeDebianBase(docker, ref, opts.workDir, log);
  return pullImage(docker, ref, log);
}

async function pullImage(docker: Dockerode, ref: string, log: Logger): Promise<string> {
  log.info("pulling base image", { ref });
  try {
    const stream = (await engineCall(log, "pull image", ref, () => docker.pull(ref))) as NodeJS.ReadableStream;
    await followProgress(stream);
  } catch (err) {
    throw new BaseImageUnavailableError(
      `The base image ${ref} is not in the Docker engine and could not be pulled (${(err as Error).message}). ` +
        `Push it to a registry this engine can reach, or use the default base ${DEFAULT_BASE_IMAGE}, which is made locally.`,
      { cause: err },
    );
  }
  const pulled = await inspectImage(docker, ref, log);
  if (!pulled) throw new BaseImageUnavailableError(`Pulling ${ref} reported success but the engine does not have it`);
  return pulled.Id;
}

/**
 * Across processes on one machine, only one makes the base: the lock is a file created with O_EXCL
 * holding the maker's pid. Others wait until the image appears, or take over when the maker died.
 */
async function makeDebianBase(docker: Dockerode, ref: string, workDir: string, log: Logger): Promise<string> {
  fs.mkdirSync(workDir, { recursive: true });
  const lockFile = path.join(workDir, `base-image-${ref.replace(/[^a-z0-9.-]+/gi, "_")}.lock`);
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    if (tryLock(lockFile)) break;
    const made = await inspectImage(docker, ref, log);
    if (made) return made.Id;
    if (lockHolderIsDead(lockFile)) {
      log.warn("removing stale base image lock", { lockFile });
      fs.rmSync(lockFile, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new BaseImageUnavailableError(`Timed out waiting for another process to make ${ref} (lock ${lockFile})`);
    }
    await new Promise((r) => setTimeout(r, 1_000));
  }
  try {
    // The other maker may have finished between our inspect and our lock.
    const made = await inspectImage(docker, ref, log);
    if (made) return made.Id;
    return await debootstrapAndImport(docker, ref, workDir, log);
  } finally {
    fs.rmSync(lockFile, { force: true });
  }
}

function tryLock(lockFile: string): boolean {
  try {
    const fd = fs.openSync(lockFile, "wx");
    fs.writeSync(fd, JSON.stringify({ pid: process.pid, since: new Date().toISOString() }));
    fs.closeSync(fd);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
}

function lockHolderIsDead(lockFile: string): boolean {
  try {
    const { pid } = JSON.parse(fs.readFileSync(lockFile, "utf8")) as { pid: number };
    process.kill(pid, 0);
    return false;
  } catch (err) {
    // ESRCH: no such process. A half-written or vanished lock file is retried on the next loop.
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
}

async function debootstrapAndImport(docker: Dockerode, ref: string, workDir: string, log: Logger): Promise<string> {
  const rootfs = path.join(workDir, `rootfs-${randomBytes(6).toString("hex")}`);
  const started = Date.now();
  try {
    log.info("making base image with debootstrap", { ref, rootfs });
    await run("debootstrap", ["--variant=minbase", "bookworm", rootfs, DEBIAN_MIRROR], log, "apt-get install -y debootstrap");
    // Package lists and .debs are in every later layer otherwise; builds run apt-get update themselves.
    fs.rmSync(path.join(rootfs, "var/lib/apt/lists"), { recursive: true, force: true });
    fs.mkdirSync(path.join(rootfs, "var/lib/apt/lists/partial"), { recursive: true });
    fs.rmSync(path.join(rootfs, "var/cache/apt/archives"), { recursive: true, force: true });
    fs.mkdirSync(path.join(rootfs, "var/cache/apt/archives/partial"), { recursive: true });

    // Import untagged, and tag only once tar has exited cleanly: a truncated root filesystem must
    // never be found under `ref` by the next build.
    const tar = spawn("tar", ["--numeric-owner", "--xattrs", "-C", rootfs, "-c", "."], { stdio: ["ignore", "pipe", "pipe"] });
    let tarErr = "";
    tar.stderr.on("data", (d: Buffer) => (tarErr += d.toString()));
    const tarExit = new Promise<number>((resolve) => tar.on("close", (code) => resolve(code ?? 1)));
    const stream = (await engineCall(log, "import image", ref, () =>
      docker.importImage(tar.stdout, {
        changes: [
          `LABEL ${LABEL.managed}=1 ${LABEL.role}=base`,
          "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
          'CMD ["/bin/bash"]',
        ],
        message: `debootstrap --variant=minbase bookworm ${DEBIAN_MIRROR}`,
      } as Record<string, unknown>),
    )) as NodeJS.ReadableStream;
    const messages = await followProgress(stream);
    const imageId = messages.map((m) => m.status ?? "").find((s) => /^sha256:[0-9a-f]{64}$/.test(s));
    const code = await tarExit;
    if (code !== 0 || !imageId) {
      if (imageId) await removeImage(docker, imageId, log);
      throw new BaseImageUnavailableError(
        code !== 0 ? `tar of the base root filesystem failed (${code}): ${tarErr.trim()}` : `Importing ${ref} returned no image id`,
      );
    }
    const [repo, tag] = splitRef(ref);
    await tagImage(docker, imageId, repo, tag, log);
    const made = await inspectImage(docker, ref, log);
    if (!made) throw new BaseImageUnavailableError(`Importing ${ref} reported success but the engine does not have it`);
    log.info("base image made", { ref, id: made.Id, seconds: Math.round((Date.now() - started) / 1000) });
    return made.Id;
  } finally {
    await removeRootfs(rootfs, log);
  }
}

/** debootstrap can leave /proc or /sys mounted inside the target when it fails; unmount before deleting. */
async function removeRootfs(rootfs: string, log: Logger) {
  let mounts: string[] = [];
  try {
    mounts = fs
      .readFileSync("/proc/self/mounts", "utf8")
      .split("\n")
      .map((line) => line.split(" ")[1])
      .filter((m) => m && (m === rootfs || m.startsWith(rootfs + "/")))
      .sort((a, b) => b.length - a.length);
  } catch {
    // not Linux, nothing to unmount
  }
  for (const mount of mounts) await run("umount", ["-l", mount], log).catch(() => {});
  if (mounts.length === 0 || mounts.every((m) => !fs.existsSync(path.join(m, "self")))) {
    fs.rmSync(rootfs, { recursive: true, force: true });
  } else {
    log.error("not deleting base rootfs: a mount is still inside it", { rootfs });
  }
}

function run(cmd: string, args: string[], log: Logger, installHint?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    const tail: string[] = [];
    const collect = (d: Buffer) => {
      for (const line of d.toString().split("\n")) if (line.trim()) tail.push(line);
      tail.splice(0, Math.max(0, tail.length - 20));
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    child.on("error", (err: NodeJS.ErrnoException) =>
      reject(
        new BaseImageUnavailableError(
          err.code === "ENOENT" && installHint ? `\`${cmd}\` is not installed: ${installHint}` : `${cmd} failed to start: ${err.message}`,
        ),
      ),
    );
    child.on("close", (code) => {
      if (code === 0) return resolve();
      log.error(`${cmd} failed`, { code, tail: tail.join("\n") });
      reject(new BaseImageUnavailableError(`${cmd} ${args.join(" ")} exited with ${code}:\n${tail.join("\n")}`));
    });
  });
}
