// The worker side of a disk image: the build's root filesystem goes into a container of the disk tools image, which writes
// the A/B disk (make-disk.sh); the files are streamed out, hashed, kept in the node's store and pushed to the registry
// as an OCI artifact beside the build's image.
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { PassThrough, Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
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
import { rootfsSizeOfBuild } from "./disk-images";
import { formatBytes, scriptEnvironment, sfdiskScript, type DiskFormat, type DiskLayout } from "./layout";
import { diskImageStorePath, diskImageStoreRoot } from "./store";
import { ensureToolsImage } from "./tools-image";

export const DISK_MEDIA_TYPES: Record<DiskFormat, string> = {
  raw: "application/vnd.strata.disk.raw.v1",
  qcow2: "application/vnd.strata.disk.qcow2.v1",
};
export const DISK_ARTIFACT_TYPE = "application/vnd.strata.disk-image.v1+json";
const OUTPUT_NAMES: Record<DiskFormat, string> = { raw: "disk.raw", qcow2: "disk.qcow2" };
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
}

/** The bundled script and grub configuration, read next to this module (lib/disk-images/). */
function bundledFile(name: string): Buffer {
  const candidates = [path.join(process.cwd(), "lib", "disk-images", name), path.join(__dirname, name)];
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

  const lines = lineWriter(db, id);
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
    // from the registry), else the published image pulled by digest.
    progress(5, "reading the build's root filesystem");
    const source = await rootfsSource(deps, build.id, `${deps.registry.endpoint.url}/${repo}@${build.imageDigest}`, repo, build.imageDigest, say, containers);
    const rootfs = await rootfsSizeOfBuild(db, build.id);

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
        },
      }),
    );
    containers.push(maker);
    await putTar(maker, await workTar(sfdiskScript(layout)), "/", log);

    // Progress of the copy: bytes of the root filesystem's tar against what its packages hold.
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
    say(`root filesystem copied: ${formatBytes(copied)}`);
    throwIfAborted(abort.signal);

    // make-disk.sh prints "==> what" before each step; those move the progress.
    const steps: Array<[RegExp, number, string]> = [
      [/^==> kernel /, 41, "found the kernel"],
      [/^==> partition table/, 42, "writing the partition table"],
      [/^==> slot A/, 43, "writing slot A (ext4 from the root filesystem)"],
      [/^==> state/, 62, "writing the state partition"],
      [/^==> EFI/, 64, "writing the EFI system partition and grub"],
      [/^==> BIOS/, 66, "installing grub for BIOS machines"],
      [/^==> qcow2/, 67, "converting to qcow2"],
      [/^==> done/, 75, "disk written"],
    ];
    const tail: string[] = [];
    const output = new LineSplitter((line) => {
      lines.write(line);
      tail.push(line);
      if (tail.length > 20) tail.shift();
      const step = steps.find(([re]) => re.test(line));
      if (step) progress(step[1], step[2]);
    });
    const { done } = await attachOutput(deps.docker, maker, (_name, chunk) => output.push(chunk), log);
    await startContainer(maker, log);
    const onAbort = () => void killContainer(maker, log).catch(() => {});
    abort.signal.addEventListener("abort", onAbort, { once: true });
    const code = await waitContainer(maker, log);
    await done;
    output.flush();
    throwIfAborted(abort.signal);
    if (code !== 0) {
      const reason = tail.filter((l) => !l.startsWith("==>")).slice(-3).join(" ") || `make-disk.sh exited with ${code}`;
      throw new DiskImageFailure(reason);
    }

    // The files: streamed out of the container into the store (holes stay holes), hashed on the way, then pushed.
    const files: DiskImageFile[] = [];
    const share = 15 / formats.length;
    for (const [i, format] of formats.entries()) {
      progress(75 + i * share, `saving the ${format} image`);
      const saved = await copyOut(deps, maker, `/work/out/${OUTPUT_NAMES[format]}`, (n, total) =>
        progress(75 + i * share + share * (n / Math.max(total, 1)), `saving the ${format} image (${formatBytes(n)} of ${formatBytes(total)})`),
      );
      say(`${format}: ${formatBytes(saved.size)}, ${saved.digest}`);
      files.push({ format, digest: saved.digest, size: saved.size, mediaType: DISK_MEDIA_TYPES[format] });
    }
    await removeContainer(maker, log).catch(() => {});

    const share2 = 9 / files.length;
    for (const [i, file] of files.entries()) {
      progress(90 + i * share2, `publishing the ${file.format} image to the registry (${formatBytes(file.size)})`);
      const local = diskImageStorePath(deps.dataDir, file.digest);
      await deps.registry.putBlobStream(repo, file.digest, file.size, fs.createReadStream(local));
    }
    const manifestDigest = await pushArtifact(deps.registry, repo, `disk-${id}`, {
      buildId: build.id,
      version: build.version,
      image: `${imageName}@${build.imageDigest}`,
      layout,
      files,
    });
    const artifactRef = `${deps.publicRegistry}/${repo}@${manifestDigest}`;
    say(`published ${artifactRef}`);
    await progressWrite;
    await db
      .update(diskImages)
      .set({ status: "succeeded", progress: 100, phaseDetail: null, files, artifactRef, finishedAt: new Date(), error: null })
      .where(eq(diskImages.id, id));
    say(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (err) {
    const reason = abort.signal.aborted ? (abort.signal.reason as Error).message : (err as Error).message;
    say(`failed: ${reason}`);
    log.warn(`disk image ${id} failed: ${(err as Error).stack ?? reason}`);
    await progressWrite;
    await db.update(diskImages).set({ status: "failed", phaseDetail: null, error: reason, finishedAt: new Date() }).where(eq(diskImages.id, id));
  } finally {
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
  open: () => Promise<Readable>;
  /** The builder's own last layer, uncompressed, when `open` gives the image without it. */
  finalLayer?: () => Promise<Readable>;
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
  let finalLayer: RootfsSource["finalLayer"];
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
  const container = await engineCall(log, "create container", `root filesystem of ${imageId}`, () =>
    deps.docker.createContainer({ Image: imageId, Entrypoint: [], Cmd: ["/bin/true"], Labels: { [LABEL_DISK_IMAGE]: "source" }, HostConfig: { NetworkMode: "none" } }),
  );
  containers.push(container);
  return { open: async () => (await engineCall(log, "export container", container.id, () => container.export())) as unknown as Readable, finalLayer };
}

/** make-disk.sh, grub.cfg and the partition table at /work, plus the folders the rest goes into. */
async function workTar(sfdisk: string): Promise<Buffer> {
  const pack = tar.pack();
  const mtime = new Date();
  pack.entry({ name: "work/", type: "directory", mode: 0o755, mtime });
  pack.entry({ name: "work/rootfs/", type: "directory", mode: 0o755, mtime });
  pack.entry({ name: "work/out/", type: "directory", mode: 0o755, mtime });
  pack.entry({ name: "work/make-disk.sh", mode: 0o755, mtime }, bundledFile("make-disk.sh"));
  pack.entry({ name: "work/grub.cfg", mode: 0o644, mtime }, bundledFile("grub.cfg"));
  pack.entry({ name: "work/layout.sfdisk", mode: 0o644, mtime }, sfdisk);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const HOLE_BLOCK = 64 * 1024;

/**
 * Streams one file out of the container (the engine sends it as a tar) into the store: hashed on the way, and
 * written with holes where the disk is empty, so a sparse 4 GiB raw image takes only what its file systems use.
 */
async function copyOut(deps: DiskImageDeps, container: Dockerode.Container, file: string, onProgress: (n: number, total: number) => void): Promise<{ digest: string; size: number }> {
  const log = deps.log ?? silentLogger;
  const archive = (await engineCall(log, "get archive", `${container.id}:${file}`, () => container.getArchive({ path: file }))) as unknown as Readable;
  const root = diskImageStoreRoot(deps.dataDir);
  await fs.promises.mkdir(path.join(root, "sha256"), { recursive: true });
  const temp = path.join(root, `.incoming-${process.pid}-${Date.now()}-${path.basename(file)}`);
  const extract = tar.extract();
  let result: { digest: string; size: number } | null = null;
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
      if (!isZero(block)) fs.writeSync(fd, block, 0, block.length, position);
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
  const saved = result as { digest: string; size: number };
  await fs.promises.rename(temp, diskImageStorePath(deps.dataDir, saved.digest));
  return saved;
}

function isZero(block: Buffer): boolean {
  // Compare 8 bytes at a time where the length allows; disk images are mostly aligned zero runs.
  const words = Math.floor(block.length / 8);
  for (let i = 0; i < words; i++) if (block.readBigUInt64LE(i * 8) !== 0n) return false;
  for (let i = words * 8; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
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
        mediaType: f.mediaType,
        digest: f.digest,
        size: f.size,
        annotations: { "org.opencontainers.image.title": `disk.${f.format === "raw" ? "img" : "qcow2"}` },
      })),
      annotations: { "org.opencontainers.image.version": info.version, "dev.strata.build": info.buildId, "dev.strata.image": info.image },
    }),
  );
  return registry.putManifest(repo, tag, manifest, "application/vnd.oci.image.manifest.v1+json");
}

/** Disk image log lines, batched like build logs. */
function lineWriter(db: Db, diskImageId: string) {
  let pending: Array<{ diskImageId: string; line: string }> = [];
  let flushing: Promise<void> = Promise.resolve();
  const flush = () => {
    if (pending.length === 0) return flushing;
    const batch = pending;
    pending = [];
    flushing = flushing.then(() => db.insert(diskImageLogs).values(batch).then(() => undefined)).catch(() => {});
    return flushing;
  };
  const timer = setInterval(flush, 300);
  return {
    write(line: string) {
      pending.push({ diskImageId, line: line.length > 8000 ? `${line.slice(0, 8000)}… (cut)` : line });
      if (pending.length >= 500) void flush();
    },
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
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

