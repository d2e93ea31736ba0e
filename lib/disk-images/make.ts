// The worker side of a disk image: the build's root filesystem goes into a container of the disk tools image, which writes
// the A/B disk (make-disk.sh); the files are streamed out, hashed, kept in the node's store and pushed to the registry
// as an OCI artifact beside the build's image.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { PassThrough, Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Worker } from "node:worker_threads";
import zlib from "node:zlib";
import type Dockerode from "dockerode";
import { and, desc, eq, lt } from "drizzle-orm";
import tar from "tar-stream";
import type { Db } from "../db";
import { buildPackages, builds, diskImageLogs, diskImages, type DiskImageFile } from "../db/schema";
import { silentLogger, type Logger } from "../log";
import type { RegistryClient } from "../registry/client";
import { DROPPED_CAPABILITIES, attachOutput, killContainer, putTar, removeContainer, startContainer, waitContainer } from "../builder/engine/containers";
import { engineCall, inspectImage } from "../builder/engine/images";
import { followProgress } from "../builder/engine/streams";
import { LineSplitter } from "../builder/line-splitter";
import { batchedLines } from "../builder/log-writer";
import { rootfsSizeOfBuild } from "./disk-images";
import { formatBytes, scriptEnvironment, sfdiskScript, type DiskFormat, type DiskLayout, type RootfsSize } from "./layout";
import { diskImageStorePath, diskImageStoreRoot } from "./store";
import { ensureToolsImage } from "./tools-image";

export const DISK_MEDIA_TYPES: Record<DiskFormat, string> = {
  raw: "application/vnd.strata.disk.raw.v1",
  qcow2: "application/vnd.strata.disk.qcow2.v1",
};
export const DISK_ARTIFACT_TYPE = "application/vnd.strata.disk-image.v1+json";
const LABEL_DISK_IMAGE = "strata.disk-image";
const HEARTBEAT_MS = 5_000;
/** A running disk image whose heartbeat is older than this lost its worker. */
export const DISK_STALE_AFTER_MS = 60_000;

export interface DiskImageDeps {
  db: Db;
  docker: Dockerode;
  /** The registry workers push to (REGISTRY_URL). */
  registry: RegistryClient;
  /** The registry as others reach it (REGISTRY_PUBLIC_URL), for the artifact reference shown to users. */
  publicRegistry: string;
  /** <data>: the store of disk image files and where the base image is made. */
  dataDir: string;
  workerId: string;
  log?: Logger;
  shutdown?: AbortSignal;
  /** Memory for the tools container (mke2fs keeps the inode tables of the slot in memory). */
  memoryBytes?: number;
  /**
   * Let the maker read the image where the engine mounts it and write into the store through a bind mount: the
   * default when the engine is on this machine. False copies through the engine's API, as for a remote engine.
   */
  readInPlace?: boolean;
}

/** The bundled script and grub configuration, read next to this module (lib/disk-images/). */
function bundledFile(name: string): Buffer {
  const candidates = [path.join(path.dirname(fileURLToPath(import.meta.url)), name), path.join(process.cwd(), "lib", "disk-images", name)];
  for (const file of candidates) if (fs.existsSync(file)) return fs.readFileSync(file);
  throw new Error(`cannot find lib/disk-images/${name}`);
}

class DiskImageFailure extends Error {}

/** Runs the disk image `id` if it is still queued; records success or failure on the row. */
export async function runDiskImage(deps: DiskImageDeps, id: string): Promise<void> {
  const { db } = deps;
  const log = deps.log ?? silentLogger;
  const [row] = await db
    .update(diskImages)
    .set({ status: "running", startedAt: new Date(), heartbeatAt: new Date(), workerId: deps.workerId, progress: 1, phaseDetail: "starting" })
    .where(and(eq(diskImages.id, id), eq(diskImages.status, "queued")))
    .returning();
  if (!row) return;

  const batch = batchedLines<{ diskImageId: string; line: string }>((rows) => db.insert(diskImageLogs).values(rows), "disk image");
  const lines = { write: (line: string) => batch.push({ diskImageId: id, line }), close: batch.close };
  const say = (line: string) => lines.write(`[strata] ${line}`);
  let progressWrite: Promise<unknown> = Promise.resolve();
  const progress = (value: number, detail: string) => {
    progressWrite = progressWrite
      .then(() => db.update(diskImages).set({ progress: Math.max(1, Math.min(99, Math.round(value))), phaseDetail: detail }).where(eq(diskImages.id, id)))
      .catch((err) => log.warn(`disk image ${id}: progress write failed: ${(err as Error).message}`));
  };
  const beat = setInterval(() => {
    db.update(diskImages).set({ heartbeatAt: new Date() }).where(eq(diskImages.id, id)).catch(() => {});
  }, HEARTBEAT_MS);
  const abort = new AbortController();
  const onShutdown = () => abort.abort(new DiskImageFailure("the worker shut down while making this disk image; ask for it again"));
  deps.shutdown?.addEventListener("abort", onShutdown, { once: true });
  const containers: Dockerode.Container[] = [];
  const started = Date.now();
  /** Where the maker writes on a local engine; removed at the end. */
  let scratch: string | null = null;

  try {
    const [build] = await db.select().from(builds).where(eq(builds.id, row.buildId));
    if (!build?.imageRef || !build.imageDigest) throw new DiskImageFailure("the build has no published image");
    // host/org/flavour:version → org/flavour
    const imageName = build.imageRef.replace(/[:@][^/]*$/, "");
    const repo = imageName.split("/").slice(1).join("/");
    const layout = row.layout as DiskLayout;
    const formats = row.formats as DiskFormat[];
    say(`disk image of ${build.imageRef} (${build.imageDigest}): ${formatBytes(layout.size)}, ${formats.join(" and ")}`);

    progress(2, "preparing the disk tools");
    const toolsId = await ensureToolsImage(deps.docker, { workDir: deps.dataDir, log, onLine: say });

    // The root filesystem: the last package's image when this engine has it (then the builder's last layer on top,
    // from the registry), else the published image pulled by digest. On a local engine the maker reads it where the
    // engine mounted it; otherwise it is copied in.
    progress(5, "reading the build's root filesystem");
    const source = await rootfsSource(deps, build.id, `${deps.registry.endpoint.url}/${repo}@${build.imageDigest}`, repo, build.imageDigest, say, containers);
    const local = source.mountedAt !== null;
    const rootfs = await rootfsSizeOfBuild(db, build.id);
    const incoming = local ? await scratchDir(deps.dataDir, id, rootfs, say) : "";
    scratch = incoming || null;

    const maker = await engineCall(log, "create container", `disk tools for disk image ${id}`, () =>
      deps.docker.createContainer({
        Image: toolsId,
        Entrypoint: [],
        Cmd: ["/bin/sh", "/work/make-disk.sh"],
        Env: Object.entries({
          ...scriptEnvironment(layout, formats),
          IMAGE: `${imageName}@${build.imageDigest}`,
          IMAGE_DIGEST: build.imageDigest,
          VERSION: build.version.replace(/[^A-Za-z0-9._+-]/g, ""),
        }).map(([k, v]) => `${k}=${v}`),
        WorkingDir: "/work",
        Tty: false,
        AttachStdout: true,
        AttachStderr: true,
        Labels: { [LABEL_DISK_IMAGE]: id },
        HostConfig: {
          Privileged: false,
          CapDrop: [...DROPPED_CAPABILITIES],
          SecurityOpt: ["no-new-privileges"],
          NetworkMode: "none",
          Memory: deps.memoryBytes ?? 2 * 1024 ** 3,
          MemorySwap: deps.memoryBytes ?? 2 * 1024 ** 3,
          PidsLimit: 256,
          Binds: local ? [`${source.mountedAt}:/work/rootfs:ro`, `${incoming}:/work/out`] : undefined,
        },
      }),
    );
    containers.push(maker);
    await putTar(maker, await workTar(sfdiskScript(layout), { rootfs: !local, out: !local }), "/", log);

    if (!local) {
      let copied = 0;
      const expected = Math.max(rootfs.bytes, 1);
      let lastShown = 0;
      const counter = new PassThrough();
      counter.on("data", (chunk: Buffer) => {
        copied += chunk.length;
        if (copied - lastShown > 32 * 1024 * 1024) {
          lastShown = copied;
          progress(5 + 35 * Math.min(1, copied / expected), `copying the root filesystem (${formatBytes(copied)} of about ${formatBytes(expected)})`);
        }
      });
      const exported = await source.open();
      exported.on("error", (err) => counter.destroy(err));
      exported.pipe(counter);
      await putTar(maker, counter, "/work/rootfs", log);
      if (source.finalLayer) await putTar(maker, await source.finalLayer(), "/work/rootfs", log);
      say(`root filesystem copied into the disk tools container: ${formatBytes(copied)}`);
    } else {
      say(`root filesystem read in place from the engine's mount of the image`);
    }
    throwIfAborted(abort.signal);

    // make-disk.sh prints "==> what" before each step; those move the progress. At "ready" the files are complete:
    // they are hashed and offered for download while the script compresses the registry's copies.
    const steps: Array<[RegExp, number, string]> = [
      [/^==> kernel /, 10, "found the kernel"],
      [/^==> partition table/, 12, "writing the partition table"],
      [/^==> slot A/, 15, "writing slot A (ext4 from the root filesystem)"],
      [/^==> state/, 55, "writing the state partition"],
      [/^==> EFI/, 58, "writing the EFI system partition and grub"],
      [/^==> BIOS/, 60, "installing grub for BIOS machines"],
      [/^==> raw ready/, 62, "checking the raw image (sha256)"],
      [/^==> qcow2/, 63, "converting to qcow2"],
      [/^==> ready/, 70, "checking the files (sha256)"],
    ];
    const tail: string[] = [];
    const signal = () => {
      let resolve: () => void = () => {};
      const promise = new Promise<void>((r) => (resolve = r));
      return { promise, resolve };
    };
    const rawReady = signal();
    const ready = signal();
    const output = new LineSplitter((line) => {
      lines.write(line);
      tail.push(line);
      if (tail.length > 20) tail.shift();
      const step = steps.find(([re]) => re.test(line));
      if (step) progress(step[1], step[2]);
      if (/^==> raw ready/.test(line)) rawReady.resolve();
      if (/^==> ready/.test(line)) ready.resolve();
    });
    const { done } = await attachOutput(deps.docker, maker, (_name, chunk) => output.push(chunk), log);
    await startContainer(maker, log);
    const onAbort = () => void killContainer(maker, log).catch(() => {});
    abort.signal.addEventListener("abort", onAbort, { once: true });
    const exit = waitContainer(maker, log).then(async (code) => {
      await done;
      output.flush();
      return code;
    });
    const failure = (code: number) => new DiskImageFailure(tail.filter((l) => !l.startsWith("==>")).slice(-3).join(" ") || `make-disk.sh exited with ${code}`);

    // Each file is hashed as soon as it is complete (the raw one while qcow2 is made), two at once.
    const take = (format: DiskFormat, i: number): Promise<DiskImageFile> => {
      const name = `disk.${format}`;
      const share = 20 / formats.length;
      const onProgress = (n: number, total: number) => progress(70 + i * share + share * (n / Math.max(total, 1)), `checking the ${format} image (${formatBytes(n)} of ${formatBytes(total)})`);
      const saving = local ? adoptFile(deps.dataDir, path.join(incoming, name), onProgress) : copyOut(deps, maker, `/work/out/${name}`, onProgress);
      return saving.then((saved) => {
        say(`${format}: ${formatBytes(saved.size)}, ${saved.digest}`);
        return { format, digest: saved.digest, size: saved.size, mediaType: DISK_MEDIA_TYPES[format], blob: null };
      });
    };
    const taken = new Map<DiskFormat, Promise<DiskImageFile>>();
    const first = await Promise.race([rawReady.promise.then(() => "raw ready" as const), exit]);
    throwIfAborted(abort.signal);
    if (first !== "raw ready") throw failure(first);
    if (formats.includes("raw")) taken.set("raw", take("raw", formats.indexOf("raw")));
    const second = await Promise.race([ready.promise.then(() => "ready" as const), exit]);
    throwIfAborted(abort.signal);
    if (second !== "ready") throw failure(second);
    for (const [i, format] of formats.entries()) if (!taken.has(format)) taken.set(format, take(format, i));
    for (const pending of taken.values()) pending.catch(() => {});
    const files: DiskImageFile[] = await Promise.all(formats.map((f) => taken.get(f)!));
    // Downloadable from here on; the registry's copies follow (the maker waits for this to start compressing).
    if (local) await fs.promises.writeFile(path.join(incoming, ".go"), "");
    else await putTar(maker, await goTar(), "/", log);
    await progressWrite;
    await db
      .update(diskImages)
      .set({ status: "succeeded", progress: 100, phaseDetail: "publishing to the registry", files, finishedAt: new Date(), error: null })
      .where(eq(diskImages.id, id));
    say(`ready for download after ${((Date.now() - started) / 1000).toFixed(1)} s; publishing to the registry`);

    const code = await exit;
    throwIfAborted(abort.signal);
    if (code !== 0) throw failure(code);
    for (const file of files) {
      const name = `disk.${file.format}.zst`;
      const blob = local ? await hashFile(path.join(incoming, name)) : await copyOut(deps, maker, `/work/out/${name}`, () => {}, { keep: false });
      file.blob = { digest: blob.digest, size: blob.size, mediaType: `${file.mediaType}+zstd` };
      const body = local ? fs.createReadStream(path.join(incoming, name)) : fs.createReadStream(blob.path!);
      await deps.registry.putBlobStream(repo, blob.digest, blob.size, body);
      if (!local) await fs.promises.rm(blob.path!, { force: true });
    }
    const manifestDigest = await pushArtifact(deps.registry, repo, `disk-${id}`, {
      buildId: build.id,
      version: build.version,
      image: `${imageName}@${build.imageDigest}`,
      layout,
      files,
    });
    const artifactRef = `${deps.publicRegistry}/${repo}@${manifestDigest}`;
    await db.update(diskImages).set({ files, artifactRef, phaseDetail: null }).where(eq(diskImages.id, id));
    say(`published ${artifactRef} (${files.map((f) => `${f.format} ${formatBytes(f.blob!.size)} compressed`).join(", ")}) after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (err) {
    const reason = abort.signal.aborted ? (abort.signal.reason as Error).message : (err as Error).message;
    say(`failed: ${reason}`);
    log.warn(`disk image ${id} failed: ${(err as Error).stack ?? reason}`);
    await progressWrite;
    const [current] = await db.select({ status: diskImages.status }).from(diskImages).where(eq(diskImages.id, id));
    if (current?.status === "succeeded") {
      // The files are on this node; only the registry's copy is missing.
      await db.update(diskImages).set({ phaseDetail: null, error: `not published to the registry: ${reason}` }).where(eq(diskImages.id, id));
    } else {
      await db.update(diskImages).set({ status: "failed", phaseDetail: null, error: reason, finishedAt: new Date() }).where(eq(diskImages.id, id));
    }
  } finally {
    if (scratch) await fs.promises.rm(scratch, { recursive: true, force: true }).catch(() => {});
    clearInterval(beat);
    deps.shutdown?.removeEventListener("abort", onShutdown);
    for (const c of containers) await removeContainer(c, log).catch(() => {});
    await lines.close();
  }
}

function throwIfAborted(signal: AbortSignal) {
  if (signal.aborted) throw signal.reason;
}

interface RootfsSource {
  /** Where the engine mounted the image on this machine (a local engine), for the maker to read in place; else null. */
  mountedAt: string | null;
  open: () => Promise<Readable>;
  /** The builder's own last layer, uncompressed, when `open` gives the image without it. */
  finalLayer?: () => Promise<Readable>;
}

/** The engine runs on this machine (its socket, not a TCP address), so paths it reports are ours too. */
function engineIsLocal(): boolean {
  const host = process.env.DOCKER_HOST;
  return !host || host.startsWith("unix://");
}

async function rootfsSource(
  deps: DiskImageDeps,
  buildId: string,
  internalRef: string,
  repo: string,
  digest: string,
  say: (line: string) => void,
  containers: Dockerode.Container[],
): Promise<RootfsSource> {
  const log = deps.log ?? silentLogger;
  const [last] = await deps.db
    .select({ imageId: buildPackages.imageId, packageId: buildPackages.packageId })
    .from(buildPackages)
    .where(eq(buildPackages.buildId, buildId))
    .orderBy(desc(buildPackages.position))
    .limit(1);
  const local = last?.imageId ? await inspectImage(deps.docker, last.imageId, log) : null;
  let imageId: string;
  let finalLayer: (() => Promise<Readable>) | undefined;
  if (local) {
    imageId = local.Id;
    say(`root filesystem from this engine's image of ${last!.packageId} (${local.Id.slice(7, 19)}), plus the build's last layer from the registry`);
    const manifest = JSON.parse((await deps.registry.getManifest(repo, digest)).bytes.toString("utf8")) as { layers: Array<{ digest: string }> };
    const layer = manifest.layers.at(-1);
    if (!layer) throw new DiskImageFailure(`the image ${internalRef} has no layers`);
    finalLayer = async () => (await deps.registry.openBlob(repo, layer.digest)).pipe(zlib.createGunzip());
  } else {
    say(`pulling ${internalRef}: this engine does not have the build's images`);
    const stream = (await engineCall(log, "pull image", internalRef, () =>
      deps.docker.pull(internalRef, { authconfig: deps.registry.engineAuth() } as Record<string, unknown>),
    )) as NodeJS.ReadableStream;
    await followProgress(stream);
    const pulled = await inspectImage(deps.docker, internalRef, log);
    if (!pulled) throw new DiskImageFailure(`pulling ${internalRef} reported success but the engine does not have it`);
    imageId = pulled.Id;
  }
  // A container of the image that only sleeps: its root filesystem, the image plus the last layer written into it,
  // less the engine's marker file. It never reaches a network.
  const container = await engineCall(log, "create container", `root filesystem of ${imageId}`, () =>
    deps.docker.createContainer({
      Image: imageId,
      Entrypoint: [],
      Cmd: ["/bin/sh", "-c", "rm -f /.dockerenv; exec sleep 2147483647"],
      Labels: { [LABEL_DISK_IMAGE]: "source" },
      HostConfig: { NetworkMode: "none", CapDrop: [...DROPPED_CAPABILITIES], SecurityOpt: ["no-new-privileges"] },
    }),
  );
  containers.push(container);
  const open = async () => (await engineCall(log, "export container", container.id, () => container.export())) as unknown as Readable;
  if (!(deps.readInPlace ?? engineIsLocal())) return { mountedAt: null, open, finalLayer };

  if (finalLayer) await putTar(container, await finalLayer(), "/", log);
  await startContainer(container, log);
  const info = (await engineCall(log, "inspect container", container.id, () => container.inspect())) as { GraphDriver?: { Data?: { MergedDir?: string } }; State?: { Running?: boolean } };
  const merged = info.GraphDriver?.Data?.MergedDir;
  // Wait for the marker's removal (the container's first and only command before sleeping).
  for (let i = 0; i < 50 && merged && fs.existsSync(path.join(merged, ".dockerenv")); i++) await new Promise((r) => setTimeout(r, 100));
  if (info.State?.Running && merged && fs.existsSync(path.join(merged, "usr")) && !fs.existsSync(path.join(merged, ".dockerenv"))) return { mountedAt: merged, open, finalLayer: undefined };
  // Not a storage driver whose mount this process can see (or the image has no shell): copy instead.
  say("the engine's mount of the image is not readable here; copying the root filesystem instead");
  await engineCall(log, "stop container", container.id, () => container.kill()).catch(() => {});
  return { mountedAt: null, open, finalLayer: undefined };
}

/** /work/out/.go: the worker has the files; make-disk.sh goes on with the registry's copies. */
async function goTar(): Promise<Buffer> {
  const pack = tar.pack();
  pack.entry({ name: "work/out/.go", mode: 0o644, mtime: new Date() }, "");
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** make-disk.sh, grub.cfg and the partition table at /work, plus the folders the rest goes into. */
async function workTar(sfdisk: string, dirs: { rootfs: boolean; out: boolean }): Promise<Buffer> {
  const pack = tar.pack();
  const mtime = new Date();
  pack.entry({ name: "work/", type: "directory", mode: 0o755, mtime });
  // Bind mounts provide these on a local engine.
  if (dirs.rootfs) pack.entry({ name: "work/rootfs/", type: "directory", mode: 0o755, mtime });
  if (dirs.out) pack.entry({ name: "work/out/", type: "directory", mode: 0o755, mtime });
  pack.entry({ name: "work/make-disk.sh", mode: 0o755, mtime }, bundledFile("make-disk.sh"));
  pack.entry({ name: "work/grub.cfg", mode: 0o644, mtime }, bundledFile("grub.cfg"));
  pack.entry({ name: "work/layout.sfdisk", mode: 0o644, mtime }, sfdisk);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const HOLE_BLOCK = 64 * 1024;
const ZEROS = Buffer.alloc(HOLE_BLOCK);

interface SavedFile {
  digest: string;
  size: number;
  /** Where it is when not moved into the store. */
  path?: string;
}

// Hashing runs in a worker thread, so that two files are hashed at once on two cores (and the event loop stays free).
const HASH_THREAD = `
const { parentPort, workerData } = require("node:worker_threads");
const crypto = require("node:crypto");
const fs = require("node:fs");
const fd = fs.openSync(workerData.file, "r");
try {
  const size = fs.fstatSync(fd).size;
  const hash = crypto.createHash("sha256");
  const buffer = Buffer.allocUnsafe(8 * 1024 * 1024);
  let n = 0, shown = 0, read;
  while ((read = fs.readSync(fd, buffer, 0, buffer.length, null)) > 0) {
    hash.update(buffer.subarray(0, read));
    n += read;
    if (n - shown > 512 * 1024 * 1024) { shown = n; parentPort.postMessage({ progress: n, size }); }
  }
  parentPort.postMessage({ digest: "sha256:" + hash.digest("hex"), size });
} finally {
  fs.closeSync(fd);
}
`;

/**
 * sha256 of a file (OpenSSL's SHA extensions do over a GB a second here), read into one reused 8 MiB buffer: a read
 * stream's small fresh chunks made hashing a 3.6 GiB raw image five times slower.
 */
function hashFile(file: string, onProgress: (n: number, total: number) => void = () => {}): Promise<SavedFile & { path: string }> {
  return new Promise((resolve, reject) => {
    const thread = new Worker(HASH_THREAD, { eval: true, workerData: { file } });
    thread.on("message", (m: { progress?: number; digest?: string; size: number }) => {
      if (m.digest) resolve({ digest: m.digest, size: m.size, path: file });
      else if (m.progress !== undefined) onProgress(m.progress, m.size);
    });
    thread.on("error", reject);
    thread.on("exit", (code) => code !== 0 && reject(new Error(`hashing ${file} stopped (${code})`)));
  });
}

const SHM = "/dev/shm";

/**
 * The folder the maker writes into on a local engine: in memory (/dev/shm) when it has room for the files' data, since
 * reading back a file the kernel is still writing to disk (to hash it) waits for the disk: 9.5 s instead of 2.6 s for a
 * 3.6 GiB raw image here. Otherwise a folder beside the store.
 */
async function scratchDir(dataDir: string, id: string, rootfs: RootfsSize, say: (line: string) => void): Promise<string> {
  // The raw image's data, its qcow2 copy and both compressed: about the root filesystem three times over.
  const needed = 3 * (rootfs.bytes + rootfs.files * 4096) + 512 * 1024 * 1024;
  try {
    const stat = await fs.promises.statfs(SHM);
    const free = stat.bavail * stat.bsize;
    if (stat.type === TMPFS_MAGIC && free > needed * 1.5) {
      const dir = path.join(SHM, "strata-disk-images", id);
      await fs.promises.rm(dir, { recursive: true, force: true });
      await fs.promises.mkdir(dir, { recursive: true, mode: 0o755 });
      return dir;
    }
    say(`writing the disk on disk: ${SHM} has ${formatBytes(free)} free, and the files need about ${formatBytes(needed)}`);
  } catch {
    // no /dev/shm
  }
  const dir = path.join(diskImageStoreRoot(dataDir), "incoming", id);
  await fs.promises.rm(dir, { recursive: true, force: true });
  await fs.promises.mkdir(dir, { recursive: true, mode: 0o755 });
  return dir;
}

const TMPFS_MAGIC = 0x01021994;

/**
 * A file the maker wrote into the scratch folder: hashed, then put into the store under its digest: a hard link when
 * the folder is on the store's file system (the maker still reads the file for the registry's copy), else a copy that
 * keeps the holes (cp --sparse=always).
 */
async function adoptFile(dataDir: string, file: string, onProgress: (n: number, total: number) => void): Promise<SavedFile> {
  const saved = await hashFile(file, onProgress);
  const target = diskImageStorePath(dataDir, saved.digest);
  await fs.promises.mkdir(path.dirname(target), { recursive: true });
  if (fs.existsSync(target)) return { digest: saved.digest, size: saved.size }; // the same bytes, made before
  try {
    await fs.promises.link(file, target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return { digest: saved.digest, size: saved.size };
    if ((err as NodeJS.ErrnoException).code !== "EXDEV") throw err;
    const temp = `${target}.${process.pid}.tmp`;
    await new Promise<void>((resolve, reject) => {
      const cp = spawn("cp", ["--sparse=always", file, temp], { stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      cp.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
      cp.on("error", reject);
      cp.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`cp ${file}: ${stderr.trim() || `exit ${code}`}`))));
    });
    await fs.promises.rename(temp, target);
  }
  return { digest: saved.digest, size: saved.size };
}

/**
 * Streams one file out of the container (the engine sends it as a tar) for an engine on another machine: hashed on the
 * way and written with holes where the disk is empty, so a sparse 4 GiB raw image takes only what its file systems use.
 * Moved into the store unless `keep` is false (then its path is returned).
 */
async function copyOut(
  deps: DiskImageDeps,
  container: Dockerode.Container,
  file: string,
  onProgress: (n: number, total: number) => void,
  opts: { keep?: boolean } = {},
): Promise<SavedFile> {
  const log = deps.log ?? silentLogger;
  const archive = (await engineCall(log, "get archive", `${container.id}:${file}`, () => container.getArchive({ path: file }))) as unknown as Readable;
  const root = diskImageStoreRoot(deps.dataDir);
  await fs.promises.mkdir(path.join(root, "sha256"), { recursive: true });
  const temp = path.join(root, `.incoming-${process.pid}-${Date.now()}-${path.basename(file)}`);
  const extract = tar.extract();
  let result: SavedFile | null = null;
  extract.on("entry", (header, stream, next) => {
    if (header.type !== "file" || result) {
      stream.resume();
      stream.on("end", next);
      return;
    }
    const total = header.size ?? 0;
    const hash = createHash("sha256");
    const fd = fs.openSync(temp, "w");
    let position = 0;
    let pending: Buffer = Buffer.alloc(0);
    let lastShown = 0;
    const writeBlock = (block: Buffer) => {
      hash.update(block);
      if (!(block.length === HOLE_BLOCK ? block.equals(ZEROS) : block.equals(ZEROS.subarray(0, block.length)))) fs.writeSync(fd, block, 0, block.length, position);
      position += block.length;
    };
    stream.on("data", (data: unknown) => {
      const chunk = data as Buffer;
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      let offset = 0;
      while (pending.length - offset >= HOLE_BLOCK) {
        writeBlock(pending.subarray(offset, offset + HOLE_BLOCK));
        offset += HOLE_BLOCK;
      }
      pending = pending.subarray(offset);
      if (position - lastShown > 256 * 1024 * 1024) {
        lastShown = position;
        onProgress(position, total);
      }
    });
    stream.on("end", () => {
      try {
        if (pending.length) writeBlock(pending);
        fs.ftruncateSync(fd, position);
        fs.fsyncSync(fd);
        fs.closeSync(fd);
        result = { digest: `sha256:${hash.digest("hex")}`, size: position };
        next();
      } catch (err) {
        next(err as Error);
      }
    });
    stream.on("error", (err) => {
      fs.closeSync(fd);
      next(err);
    });
  });
  try {
    await pipeline(archive, extract);
  } catch (err) {
    await fs.promises.rm(temp, { force: true });
    throw err;
  }
  if (!result) throw new DiskImageFailure(`the disk tools container did not write ${file}`);
  const saved = result as SavedFile;
  if (opts.keep === false) return { ...saved, path: temp };
  await fs.promises.rename(temp, diskImageStorePath(deps.dataDir, saved.digest));
  return saved;
}

/** The OCI artifact: a config naming the build and the layout, one layer a format. Returns the manifest's digest. */
async function pushArtifact(
  registry: RegistryClient,
  repo: string,
  tag: string,
  info: { buildId: string; version: string; image: string; layout: DiskLayout; files: DiskImageFile[] },
): Promise<string> {
  const config = Buffer.from(JSON.stringify({ buildId: info.buildId, version: info.version, image: info.image, layout: info.layout }));
  const configDigest = `sha256:${createHash("sha256").update(config).digest("hex")}`;
  await registry.putBlob(repo, configDigest, config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      artifactType: DISK_ARTIFACT_TYPE,
      config: { mediaType: DISK_ARTIFACT_TYPE, digest: configDigest, size: config.length },
      layers: info.files.map((f) => ({
        mediaType: f.blob!.mediaType,
        digest: f.blob!.digest,
        size: f.blob!.size,
        annotations: {
          "org.opencontainers.image.title": `disk.${f.format === "raw" ? "img" : "qcow2"}.zst`,
          // What `zstd -d` gives back: the file the portal offers for download.
          "dev.strata.uncompressed.digest": f.digest,
          "dev.strata.uncompressed.size": String(f.size),
        },
      })),
      annotations: { "org.opencontainers.image.version": info.version, "dev.strata.build": info.buildId, "dev.strata.image": info.image },
    }),
  );
  return registry.putManifest(repo, tag, manifest, "application/vnd.oci.image.manifest.v1+json");
}

/** Marks running disk images whose worker stopped beating as failed. */
export async function reapStaleDiskImages(db: Db, staleAfterMs = DISK_STALE_AFTER_MS): Promise<string[]> {
  const cutoff = new Date(Date.now() - staleAfterMs);
  const reaped = await db
    .update(diskImages)
    .set({ status: "failed", finishedAt: new Date(), phaseDetail: null, error: `The worker making this disk image stopped (no heartbeat for ${Math.round(staleAfterMs / 1000)} s). Ask for it again.` })
    .where(and(eq(diskImages.status, "running"), lt(diskImages.heartbeatAt, cutoff)))
    .returning({ id: diskImages.id });
  return reaped.map((r) => r.id);
}

