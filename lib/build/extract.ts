// Extracts the artefact of one package: the layer its commit added, streamed out of the engine, filtered, repacked, gzipped and stored by digest.
//
// Two honest sources for that layer, both streaming (no copy of the image on our disk):
// - "upperdir": on a local overlay2 engine the committed layer is a plain directory
//   (GraphDriver.Data.UpperDir). Reading it directly costs only that layer's bytes. Overlay keeps
//   deletions as 0/0 character devices and opaque directories as a trusted.overlay.opaque xattr;
//   Node cannot read xattrs, so `getfattr` (Debian package `attr`) lists the opaque ones.
// - "save": `docker save` (GET /images/{id}/get) streams every layer of the image; the outer tar
//   is parsed with tar-stream, every layer but the wanted one is skipped as a stream, and the
//   wanted one is verified against the image's diffID while it is processed. Works with any engine,
//   but the engine itself reads the whole image.
// Both feed the same filter and repacker, so they produce the same bytes and digest.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import fs from "node:fs";
import path from "node:path";
import { Transform, type Readable } from "node:stream";
import zlib from "node:zlib";
import type Dockerode from "dockerode";
import tar from "tar-stream";
import { silentLogger, type Logger } from "../stack/docker";
import type { ArtefactStore } from "./artefact-store";
import { engineCall, inspectImage } from "./engine/images";

/** One entry of a layer tar, as tar-stream names its fields. */
export interface LayerEntry {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: Date;
  linkname?: string | null;
}

export type ArtefactFileType = "file" | "directory" | "symlink" | "link";

export interface ArtefactFile {
  /** Normalised absolute path, e.g. "/opt/hello". */
  path: string;
  type: ArtefactFileType;
  size: number;
  /** Permission bits including setuid/setgid/sticky (mode & 0o7777). */
  mode: number;
  /** Symlink target as stored, or the absolute path a hard link points to. */
  target?: string;
}

export interface RejectedEntry {
  /** The entry name as it appeared in the layer. */
  name: string;
  reason: string;
}

export interface Artefact {
  /** "sha256:..." of the gzip bytes, which is also their name in the artefact store. */
  digest: string;
  /** Bytes of the gzip file. */
  size: number;
  /** Bytes of the tar inside it. */
  uncompressedSize: number;
  /** Kept entries that are not directories. */
  fileCount: number;
  /** Every kept entry, directories included, in archive order. */
  files: ArtefactFile[];
  /** Paths the layer deletes from lower layers; "dir/" means the directory's earlier content is replaced (opaque). */
  deleted: string[];
  rejected: RejectedEntry[];
  compression: "gzip";
}

export type ExtractionMethod = "upperdir" | "save" | "empty";

export interface ExtractFilter {
  includes?: readonly string[];
  excludes?: readonly string[];
}

interface CompiledFilter {
  includes: RegExp[];
  excludes: RegExp[];
}

export type EntryDecision =
  | { action: "keep"; path: string; type: ArtefactFileType; target?: string }
  | { action: "delete"; path: string }
  | { action: "skip"; path: string }
  | { action: "reject"; reason: string };

export function compileFilter(filter: ExtractFilter): CompiledFilter {
  return {
    includes: (filter.includes ?? []).map((re) => new RegExp(re)),
    excludes: (filter.excludes ?? []).map((re) => new RegExp(re)),
  };
}

/**
 * Splits an archive-relative name into segments. Returns an error reason for names that are
 * absolute or climb with "..": layer tars never contain those, so one that does is hostile.
 */
function segmentsOf(name: string): { segments: string[] } | { reason: string } {
  let rest = name;
  while (rest.startsWith("./")) rest = rest.slice(2);
  if (rest.startsWith("/")) return { reason: "absolute path" };
  if (rest.includes("\0")) return { reason: "NUL in name" };
  const segments = rest.split("/").filter((s) => s !== "" && s !== ".");
  if (segments.includes("..")) return { reason: "path contains '..'" };
  return { segments };
}

/** True when following `target` from the directory `fromDir` (absolute, normalised) would leave the root. */
export function linkEscapesRoot(fromDir: string, target: string): boolean {
  const start = target.startsWith("/") ? [] : fromDir.split("/").filter(Boolean);
  const stack = [...start];
  for (const segment of target.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      if (stack.length === 0) return true;
      stack.pop();
    } else stack.push(segment);
  }
  return false;
}

function passesFilter(p: string, isDirectory: boolean, filter: CompiledFilter): boolean {
  // Directories are matched with a trailing slash so that "^/var/cache/" covers /var/cache itself.
  const subject = isDirectory ? `${p}/` : p;
  if (filter.includes.length > 0 && !filter.includes.some((re) => re.test(subject))) return false;
  return !filter.excludes.some((re) => re.test(subject));
}

/**
 * Decides what happens to one layer entry. `kept` holds the paths kept so far (a hard link must
 * point at one of them, or the repacked archive would hold a dangling link).
 */
export function classifyEntry(entry: LayerEntry, filter: CompiledFilter, kept: ReadonlySet<string>): EntryDecision {
  const parsed = segmentsOf(entry.name);
  if ("reason" in parsed) return { action: "reject", reason: parsed.reason };
  const { segments } = parsed;
  if (segments.length === 0) return { action: "skip", path: "/" };
  const p = `/${segments.join("/")}`;
  const base = segments[segments.length - 1];
  const dir = `/${segments.slice(0, -1).join("/")}`;

  if (base.startsWith(".wh.")) {
    if (base === ".wh..wh..opq") {
      const opaqueDir = dir === "/" ? "/" : `${dir}/`;
      return passesFilter(dir, true, filter) ? { action: "delete", path: opaqueDir } : { action: "skip", path: opaqueDir };
    }
    // Other ".wh..wh." names are aufs bookkeeping, not deletions.
    if (base.startsWith(".wh..wh.")) return { action: "skip", path: p };
    const victim = `${dir === "/" ? "" : dir}/${base.slice(4)}`;
    return passesFilter(victim, false, filter) ? { action: "delete", path: victim } : { action: "skip", path: victim };
  }

  switch (entry.type) {
    case "file":
    case "contiguous-file":
      return passesFilter(p, false, filter) ? { action: "keep", path: p, type: "file" } : { action: "skip", path: p };
    case "directory":
      return passesFilter(p, true, filter) ? { action: "keep", path: p, type: "directory" } : { action: "skip", path: p };
    case "symlink": {
      const target = entry.linkname ?? "";
      if (!target) return { action: "reject", reason: "symlink without target" };
      if (linkEscapesRoot(dir, target)) return { action: "reject", reason: `symlink target escapes the root: ${target}` };
      return passesFilter(p, false, filter) ? { action: "keep", path: p, type: "symlink", target } : { action: "skip", path: p };
    }
    case "link": {
      const target = segmentsOf(entry.linkname ?? "");
      if ("reason" in target) return { action: "reject", reason: `hard link target: ${target.reason}` };
      if (target.segments.length === 0) return { action: "reject", reason: "hard link to the root" };
      const targetPath = `/${target.segments.join("/")}`;
      if (!passesFilter(p, false, filter)) return { action: "skip", path: p };
      if (!kept.has(targetPath)) return { action: "reject", reason: `hard link target is not in the artefact: ${targetPath}` };
      return { action: "keep", path: p, type: "link", target: targetPath };
    }
    case "character-device":
    case "block-device":
      return { action: "reject", reason: "device file" };
    case "fifo":
      return { action: "reject", reason: "fifo" };
    default:
      return { action: "reject", reason: `unsupported entry type ${entry.type}` };
  }
}

/** An entry body: a Node or streamx stream, read by async iteration. */
export type EntryBody = AsyncIterable<Uint8Array> | Iterable<Uint8Array> | null;
/**
 * A source entry's body; a function means "open on demand", so a source that can skip bytes (a
 * directory walk) does not read files the filter drops — package layers carry big apt caches that
 * the usual `^/var/cache/` exclude throws away.
 */
export type LayerSource = AsyncIterable<{ header: LayerEntry; body: EntryBody | (() => EntryBody) }>;
type PackHeader = Parameters<tar.Pack["entry"]>[0];

export interface RepackOptions {
  filter: ExtractFilter;
  store: ArtefactStore;
  /** zlib level 0-9; 6 (gzip's default) unless given. */
  gzipLevel?: number;
  signal?: AbortSignal;
}

/**
 * Gathers the pack's many small pushes (a 512-byte header, a few bytes of file, padding) into big
 * buffers: zlib costs one native call per write, which dominated on a root filesystem.
 */
function coalesce(bytes: number): Transform {
  let parts: Buffer[] = [];
  let held = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      parts.push(chunk);
      held += chunk.length;
      if (held < bytes) return cb();
      const out = Buffer.concat(parts, held);
      parts = [];
      held = 0;
      cb(null, out);
    },
    flush(cb) {
      cb(null, held ? Buffer.concat(parts, held) : undefined);
    },
  });
}

async function drain(body: EntryBody) {
  if (!body) return;
  for await (const _chunk of body) {
    // discard
  }
}

/** Writes one entry into the pack, honouring backpressure; resolves when the pack took all of it. */
async function writeEntry(pack: tar.Pack, header: PackHeader, body: EntryBody) {
  const written = new Promise<void>((resolve, reject) => {
    const sink = pack.entry(header, (err) => (err ? reject(err) : resolve()));
    if (header.type !== "file") return;
    void (async () => {
      try {
        if (body) {
          for await (const chunk of body) {
            if (!sink.write(chunk)) await once(sink as unknown as NodeJS.EventEmitter, "drain");
          }
        }
        (sink as unknown as NodeJS.WritableStream).end();
      } catch (err) {
        sink.destroy(err as Error);
        reject(err);
      }
    })();
  });
  await written;
}

/**
 * The filter and repacker every source goes through: applies includes/excludes, rejects unsafe
 * entries, records whiteouts as deletions, and writes the kept entries as tar → gzip → store.
 */
export async function repackLayer(source: LayerSource, opts: RepackOptions): Promise<Artefact> {
  const filter = compileFilter(opts.filter);
  const pack = tar.pack();
  let uncompressedSize = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      uncompressedSize += chunk.length;
      cb(null, chunk);
    },
  });
  const gzip = zlib.createGzip({ level: opts.gzipLevel ?? 6, chunkSize: 256 * 1024 });
  const storing = opts.store.put(pack as unknown as Readable, counter, coalesce(256 * 1024), gzip);
  // If the store fails first (disk full), stop feeding instead of waiting on backpressure forever.
  const storeFailed = storing.then(
    () => null,
    (err: Error) => err,
  );

  const kept = new Set<string>();
  const files: ArtefactFile[] = [];
  const deleted: string[] = [];
  const rejected: RejectedEntry[] = [];
  try {
    for await (const { header, body } of source) {
      opts.signal?.throwIfAborted();
      const decision = classifyEntry(header, filter, kept);
      const lazy = typeof body === "function";
      if (decision.action !== "keep") {
        if (decision.action === "delete") deleted.push(decision.path);
        if (decision.action === "reject") rejected.push({ name: header.name, reason: decision.reason });
        if (!lazy) await drain(body);
        continue;
      }
      kept.add(decision.path);
      const isFile = decision.type === "file";
      files.push({
        path: decision.path,
        type: decision.type,
        size: isFile ? header.size : 0,
        mode: header.mode & 0o7777,
        ...(decision.target !== undefined ? { target: decision.target } : {}),
      });
      // Only the fields below: uname/gname, atime/ctime and pax extras are dropped on purpose, so
      // both sources give byte-identical archives. (tar-stream's pax codec is text-only, so binary
      // xattrs such as security.capability could not be carried faithfully anyway.)
      const out: PackHeader = {
        name: decision.path.slice(1) + (decision.type === "directory" ? "/" : ""),
        type: decision.type,
        mode: header.mode & 0o7777,
        uid: header.uid,
        gid: header.gid,
        size: isFile ? header.size : 0,
        mtime: new Date(Math.floor(header.mtime.getTime() / 1000) * 1000),
        linkname: decision.type === "symlink" ? decision.target : decision.type === "link" ? decision.target!.slice(1) : undefined,
      };
      const content = lazy ? (isFile ? body() : null) : body;
      const result = await Promise.race([writeEntry(pack, out, isFile ? content : null).then(() => null), storeFailed]);
      if (result instanceof Error) throw result;
      if (!isFile && !lazy) await drain(body);
    }
    pack.finalize();
  } catch (err) {
    pack.destroy(err as Error);
    await storing.catch(() => {});
    throw err;
  }
  const blob = await storing;
  return {
    digest: blob.digest,
    size: blob.size,
    uncompressedSize,
    fileCount: files.filter((f) => f.type !== "directory").length,
    files,
    deleted: deleted.sort(),
    rejected,
    compression: "gzip",
  };
}

function toLayerEntry(h: tar.Header): LayerEntry {
  return {
    name: h.name,
    type: h.type ?? "file",
    mode: h.mode ?? 0o644,
    uid: h.uid ?? 0,
    gid: h.gid ?? 0,
    size: h.size ?? 0,
    mtime: h.mtime ?? new Date(0),
    linkname: h.linkname,
  };
}

/** Entries of a tar stream, for repackLayer. An entry the consumer did not read is drained. */
export async function* tarEntries(input: NodeJS.ReadableStream): LayerSource {
  const extract = tar.extract();
  input.on("error", (err: Error) => extract.destroy(err));
  input.pipe(extract as unknown as NodeJS.WritableStream);
  for await (const entry of extract) {
    yield { header: toLayerEntry(entry.header), body: entry as unknown as EntryBody };
    entry.resume();
  }
}

/** Filters and repacks a layer tar (the function the unit tests feed hostile archives to). */
export function repackLayerTar(input: NodeJS.ReadableStream, opts: RepackOptions): Promise<Artefact> {
  return repackLayer(tarEntries(input), opts);
}

// ---------------------------------------------------------------------------------------------
// Source 1: the overlay2 upper directory of a local engine.

const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** getfattr escapes unusual bytes in names as \ooo octal; undo that. */
function unescapeGetfattr(name: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < name.length; i++) {
    if (name[i] === "\\" && /^[0-7]{3}$/.test(name.slice(i + 1, i + 4))) {
      bytes.push(parseInt(name.slice(i + 1, i + 4), 8));
      i += 3;
    } else if (name[i] === "\\" && name[i + 1] === "\\") {
      bytes.push(0x5c);
      i += 1;
    } else {
      bytes.push(...Buffer.from(name[i], "utf8"));
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

/** Absolute paths of the opaque directories under `dir`, listed by getfattr in one walk. */
export async function opaqueDirectories(dir: string): Promise<Set<string>> {
  const child = spawn("getfattr", ["--absolute-names", "-R", "-P", "-n", "trusted.overlay.opaque", dir], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  let out = "";
  child.stdout.setEncoding("latin1");
  child.stdout.on("data", (d: string) => (out += d));
  const [code] = (await once(child, "close")) as [number | null];
  // Exit 1 only means some files lack the attribute.
  if (code !== 0 && code !== 1) throw new Error(`getfattr exited with ${code} on ${dir}`);
  const opaque = new Set<string>();
  let current: string | null = null;
  for (const line of out.split("\n")) {
    if (line.startsWith("# file: ")) current = unescapeGetfattr(Buffer.from(line.slice(8), "latin1").toString("latin1"));
    else if (current && /^trusted\.overlay\.opaque="y"$/.test(line)) opaque.add(current);
  }
  return opaque;
}

/** Files up to this size are read with one synchronous call; bigger ones are streamed. */
const SMALL_FILE_BYTES = 256 * 1024;

/**
 * Walks an overlay upper directory in the order Docker's archiver would, yielding layer-tar entries.
 * Metadata calls and small reads are synchronous on purpose: a root filesystem is thousands of
 * small files, and one thread-pool round trip per lstat/open/read/close made the walk latency-bound
 * (half the time idle); page-cache hits take microseconds, so the event loop is held only briefly.
 */
export async function* upperDirEntries(upper: string, signal?: AbortSignal): LayerSource {
  const opaque = await opaqueDirectories(upper);
  const firstNameOfInode = new Map<string, string>();

  async function* walk(rel: string): LayerSource {
    const names = fs.readdirSync(path.join(upper, rel)).sort(byBytes);
    for (const name of names) {
      signal?.throwIfAborted();
      const relName = rel ? `${rel}/${name}` : name;
      const abs = path.join(upper, relName);
      const st = fs.lstatSync(abs);
      const common = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime, size: 0 };
      if (st.isCharacterDevice() && st.rdev === 0) {
        // Overlay's whiteout: the same deletion a layer tar spells ".wh.<name>".
        yield { header: { ...common, name: rel ? `${rel}/.wh.${name}` : `.wh.${name}`, type: "file" }, body: null };
      } else if (st.isDirectory()) {
        yield { header: { ...common, name: `${relName}/`, type: "directory" }, body: null };
        if (opaque.has(abs)) yield { header: { ...common, name: `${relName}/.wh..wh..opq`, type: "file" }, body: null };
        yield* walk(relName);
      } else if (st.isSymbolicLink()) {
        yield { header: { ...common, name: relName, type: "symlink", linkname: fs.readlinkSync(abs) }, body: null };
      } else if (st.isFile()) {
        const inode = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? firstNameOfInode.get(inode) : undefined;
        if (first !== undefined) {
          yield { header: { ...common, name: relName, type: "link", linkname: first }, body: null };
          continue;
        }
        if (st.nlink > 1) firstNameOfInode.set(inode, relName);
        const open = () => (st.size <= SMALL_FILE_BYTES ? [fs.readFileSync(abs)] : fs.createReadStream(abs, { highWaterMark: 1 << 20 }));
        yield { header: { ...common, name: relName, type: "file", size: st.size }, body: open };
      } else {
        const type = st.isFIFO() ? "fifo" : st.isBlockDevice() ? "block-device" : st.isCharacterDevice() ? "character-device" : "socket";
        yield { header: { ...common, name: relName, type }, body: null };
      }
    }
  }
  yield* walk("");
}

// ---------------------------------------------------------------------------------------------
// Source 2: the `docker save` stream.

/**
 * Yields the entries of the one layer whose diffID is `diffId` out of a `docker save` stream.
 * Layouts: OCI (Docker ≥ 25: blobs/sha256/<diffID>, uncompressed) and legacy (Docker ≤ 24:
 * <v1id>/json then <v1id>/layer.tar, in an order that says nothing about layer order; only the
 * top layer's json carries the image "config", and the wanted layer is always the top one).
 * The layer's bytes are hashed as they pass and checked against `diffId` at the end.
 */
export async function* savedLayerEntries(save: Readable, diffId: string): LayerSource {
  const wantHex = diffId.replace(/^sha256:/, "");
  const outer = tar.extract();
  save.on("error", (err) => outer.destroy(err));
  save.pipe(outer as unknown as NodeJS.WritableStream);
  let topDir: string | null = null;
  let found = false;
  for await (const entry of outer) {
    const name = entry.header.name.replace(/^\.\//, "");
    const legacyJson = /^([0-9a-f]{64})\/json$/.exec(name);
    if (legacyJson) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      const v1 = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { config?: unknown };
      if (v1.config !== undefined) topDir = legacyJson[1];
      continue;
    }
    const isWanted = name === `blobs/sha256/${wantHex}` || (topDir !== null && name === `${topDir}/layer.tar`);
    if (!isWanted || found) {
      entry.resume();
      continue;
    }
    if (entry.header.type !== "file") throw new Error(`docker save gave the layer ${name} as a ${entry.header.type}`);
    found = true;
    const hash = createHash("sha256");
    const hashing = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    entry.on("error", (err: Error) => hashing.destroy(err));
    entry.pipe(hashing);
    yield* tarEntries(hashing);
    // tar-stream stops at the end-of-archive blocks; hash whatever padding follows too.
    hashing.resume();
    if (!hashing.readableEnded) await once(hashing, "end");
    const got = hash.digest("hex");
    if (got !== wantHex) throw new Error(`the layer read from docker save has digest sha256:${got}, expected ${diffId}`);
    // Nothing after the wanted layer matters; the caller closes the save stream.
    return;
  }
  if (!found) throw new Error(`docker save did not contain the layer ${diffId}`);
}

// ---------------------------------------------------------------------------------------------

/** Docker facts that decide whether the upper directory can be read directly; cached per client. */
const upperDirSupport = new WeakMap<Dockerode, Promise<boolean>>();

function engineSupportsUpperDir(docker: Dockerode): Promise<boolean> {
  let known = upperDirSupport.get(docker);
  if (!known) {
    known = (async () => {
      // Only an engine on a local socket shares our filesystem; reading trusted.* xattrs needs root.
      const socketPath = (docker.modem as { socketPath?: string }).socketPath;
      if (!socketPath || process.getuid?.() !== 0) return false;
      const info = (await docker.info()) as { Driver?: string; DriverStatus?: [string, string][] };
      const status = new Map(info.DriverStatus ?? []);
      // Without native diff (redirect_dir on) or with userxattr, the upper dir is not a plain layer.
      if (info.Driver !== "overlay2" || status.get("Native Overlay Diff") !== "true" || status.get("userxattr") === "true") {
        return false;
      }
      const probe = spawn("getfattr", ["--version"], { stdio: "ignore" });
      const [code] = (await once(probe, "close").catch(() => [1])) as [number | null];
      return code === 0;
    })().catch(() => false);
    upperDirSupport.set(docker, known);
  }
  return known;
}

export interface ExtractOptions extends RepackOptions {
  imageId: string;
  /** The image the package was built on; when the commit added no layer, the artefact is empty. */
  parentImageId: string | null;
  /** "auto" (default): upperdir when the engine allows it, else save. */
  method?: "auto" | "upperdir" | "save";
  log?: Logger;
}

/** Extracts the layer `imageId` added on top of `parentImageId` into the artefact store. */
export async function extractArtefact(docker: Dockerode, opts: ExtractOptions): Promise<Artefact & { method: ExtractionMethod }> {
  const log = opts.log ?? silentLogger;
  const image = await inspectImage(docker, opts.imageId, log);
  if (!image) throw new Error(`extract: the engine has no image ${opts.imageId}`);
  const layers = image.RootFS?.Layers ?? [];
  const parentLayers = opts.parentImageId ? ((await inspectImage(docker, opts.parentImageId, log))?.RootFS?.Layers ?? []) : [];
  const started = Date.now();

  // Docker's commit adds no layer when the container changed nothing.
  if (layers.length === parentLayers.length) {
    return { ...(await repackLayer((async function* () {})(), opts)), method: "empty" };
  }
  if (layers.length !== parentLayers.length + 1) {
    throw new Error(`extract: ${opts.imageId} has ${layers.length} layers, expected one more than its parent's ${parentLayers.length}`);
  }
  const diffId = layers[layers.length - 1];

  const want = opts.method ?? "auto";
  const upper = (image.GraphDriver?.Data as { UpperDir?: string } | undefined)?.UpperDir;
  if (want === "upperdir" || (want === "auto" && upper && (await engineSupportsUpperDir(docker)) && fs.existsSync(upper))) {
    if (!upper || !fs.existsSync(upper)) throw new Error(`extract: no readable overlay2 upper directory for ${opts.imageId}`);
    log.debug("extract: reading overlay upper directory", { imageId: opts.imageId, upper });
    try {
      const artefact = await repackLayer(upperDirEntries(upper, opts.signal), opts);
      log.debug("extract: done", { imageId: opts.imageId, method: "upperdir", ms: Date.now() - started });
      return { ...artefact, method: "upperdir" };
    } catch (err) {
      // The fast path is an optimisation: in "auto", anything odd there falls back to the save stream.
      if (want !== "auto" || opts.signal?.aborted) throw err;
      log.warn("extract: overlay fast path failed, using docker save", { imageId: opts.imageId, error: (err as Error).message });
    }
  }

  const save = (await engineCall(log, "save image", opts.imageId, () =>
    docker.getImage(opts.imageId).get(),
  )) as unknown as Readable;
  try {
    const artefact = await repackLayer(savedLayerEntries(save, diffId), opts);
    log.debug("extract: done", { imageId: opts.imageId, method: "save", ms: Date.now() - started });
    return { ...artefact, method: "save" };
  } finally {
    // Stop the engine streaming the remaining layers once ours is done (or on failure).
    save.destroy();
  }
}
