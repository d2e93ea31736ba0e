// The two sources of a package's layer, both streaming: the engine's `docker save` stream (default) and the overlay2 upper directory (opt-in).
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import fs from "node:fs";
import path from "node:path";
import { Transform, type Readable } from "node:stream";
import zlib from "node:zlib";
import tar from "tar-stream";
import { tarEntries, type LayerSource } from "./repack";

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
// Source 3: the layer's blob in the registry (the shared cache pushed it anyway).

/**
 * The entries of one gzip layer blob read from the registry: only that layer's bytes travel (the save stream
 * makes the engine write out the whole image first). The blob's digest is checked by the client; the
 * uncompressed bytes are hashed as they pass and checked against the image's diffID at the end.
 */
export async function* registryLayerEntries(blob: Readable, diffId: string): LayerSource {
  const wantHex = diffId.replace(/^sha256:/, "");
  const hash = createHash("sha256");
  const gunzip = zlib.createGunzip({ chunkSize: 256 * 1024 });
  const hashing = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  blob.on("error", (err) => gunzip.destroy(err));
  gunzip.on("error", (err) => hashing.destroy(err));
  blob.pipe(gunzip).pipe(hashing);
  try {
    yield* tarEntries(hashing);
    // tar-stream stops at the end-of-archive blocks; hash whatever padding follows too.
    hashing.resume();
    if (!hashing.readableEnded) await once(hashing, "end");
  } finally {
    blob.destroy();
  }
  const got = hash.digest("hex");
  if (got !== wantHex) throw new Error(`the layer read from the registry has diffID sha256:${got}, expected ${diffId}`);
}
