// The filter and repacker every layer source goes through: kept entries become a normalised tar, compressed and stored by digest.
import { createHash, type Hash } from "node:crypto";
import { once } from "node:events";
import { Transform, type Readable } from "node:stream";
import tar from "tar-stream";
import type { ArtefactStore } from "../artefact-store";
import { artefactMaxEntries } from "../limits";
import { compressionFromEnv, compressor, type CompressionChoice } from "./compress";
import { classifyEntry, compileFilter, type Artefact, type ArtefactFile, type ExtractFilter, type LayerEntry, type RejectedEntry } from "./filter";

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
  /** zstd level 3 when the zstd program is installed, else gzip 6 (see compressionFromEnv). */
  compression?: CompressionChoice;
  signal?: AbortSignal;
  /** Entries (kept, deleted or rejected) past which the layer is refused; artefactMaxEntries() when absent. */
  maxEntries?: number;
  /** The package the layer belongs to, e.g. "layer/x", for messages. */
  packageId?: string;
}

/**
 * A layer holds more entries than an artefact may (STRATA_ARTEFACT_MAX_ENTRIES): final, the same layer fails the
 * same way. Raised while streaming, before the entries past the limit are read, so they are never all in memory.
 */
export class ArtefactEntriesLimitError extends Error {
  readonly retryable = false;
  constructor(
    readonly packageId: string | undefined,
    readonly limit: number,
  ) {
    super(
      `${packageId ? `${packageId}'s layer` : "The layer"} has more than ${limit} files (the limit, STRATA_ARTEFACT_MAX_ENTRIES); ` +
        "directories, links and deletions count too. Remove what the package need not ship in the step that creates it, " +
        "or leave it out of the artefact with an excludes pattern (e.g. ^/usr/share/doc/), then build again.",
    );
    this.name = "ArtefactEntriesLimitError";
  }
}

/**
 * Whether an artefact made earlier (its index in the store) holds no more entries than the limit allows now: one
 * that does not is extracted again, and then refused, rather than recorded.
 */
export function withinEntryLimit(artefact: Partial<Pick<Artefact, "files" | "deleted" | "rejected">>, maxEntries = artefactMaxEntries()): boolean {
  return (artefact.files?.length ?? 0) + (artefact.deleted?.length ?? 0) + (artefact.rejected?.length ?? 0) <= maxEntries;
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
async function writeEntry(pack: tar.Pack, header: PackHeader, body: EntryBody, hash?: Hash) {
  const written = new Promise<void>((resolve, reject) => {
    const sink = pack.entry(header, (err) => (err ? reject(err) : resolve()));
    if (header.type !== "file") return;
    void (async () => {
      try {
        if (body) {
          for await (const chunk of body) {
            hash?.update(chunk);
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
 * entries, records whiteouts as deletions, and writes the kept entries as tar → zstd (or gzip) → store.
 */
export async function repackLayer(source: LayerSource, opts: RepackOptions): Promise<Artefact> {
  const filter = compileFilter(opts.filter, opts.packageId);
  const maxEntries = opts.maxEntries ?? artefactMaxEntries();
  const pack = tar.pack();
  let uncompressedSize = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      uncompressedSize += chunk.length;
      cb(null, chunk);
    },
  });
  const compression = opts.compression ?? compressionFromEnv();
  const storing = opts.store.put(pack as unknown as Readable, counter, coalesce(256 * 1024), compressor(compression));
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
      // Every entry the artefact records (kept, deleted, rejected) counts; skipped ones cost nothing to keep.
      if (decision.action !== "skip" && files.length + deleted.length + rejected.length >= maxEntries) {
        throw new ArtefactEntriesLimitError(opts.packageId, maxEntries);
      }
      if (decision.action !== "keep") {
        if (decision.action === "delete") deleted.push(decision.path);
        if (decision.action === "reject") rejected.push({ name: header.name, reason: decision.reason });
        if (!lazy) await drain(body);
        continue;
      }
      kept.add(decision.path);
      const isFile = decision.type === "file";
      const file: ArtefactFile = {
        path: decision.path,
        type: decision.type,
        size: isFile ? header.size : 0,
        mode: header.mode & 0o7777,
        ...(decision.target !== undefined ? { target: decision.target } : {}),
      };
      files.push(file);
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
      // Each file's content digest costs little next to compression, and lets a repository diff tell a changed file
      // of the same size from an unchanged one.
      const hash = isFile ? createHash("sha256") : undefined;
      const result = await Promise.race([writeEntry(pack, out, isFile ? content : null, hash).then(() => null), storeFailed]);
      if (result instanceof Error) throw result;
      if (hash) file.sha256 = `sha256:${hash.digest("hex")}`;
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
    compression: compression.kind,
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
