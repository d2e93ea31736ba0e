// Unpacks image layers (tar streams) into a slot directory, applying OCI whiteouts, without ever writing outside the slot.
//
// Written here rather than with `tar` (node-tar) because the OCI rules are what matter: whiteouts
// and opaque directories, never following a symbolic link that an earlier layer put in the slot,
// and ownership kept only when running as root. tar-stream does the parsing.
import { createWriteStream } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { pipeline as pipelineWithCallback, type Readable, type Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";

const WHITEOUT_PREFIX = ".wh.";
const OPAQUE_MARKER = ".wh..wh..opq";

/** A layer entry that would land outside the slot, or that the slot cannot take safely. */
export class UnsafeEntryError extends Error {
  constructor(entry: string, why: string) {
    super(`layer entry "${entry}" ${why}`);
    this.name = "UnsafeEntryError";
  }
}

export interface UnpackStats {
  files: number;
  directories: number;
  symlinks: number;
  hardLinks: number;
  whiteouts: number;
  /** Character and block devices and fifos: the booted system's devtmpfs provides devices, so they are left out. */
  skippedSpecial: number;
}

interface DirectoryMeta {
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
}

/**
 * The path of an entry relative to the slot ("" for the slot itself), with "." parts dropped.
 * Absolute names and ".." parts are refused, not resolved: a layer that contains them was not
 * made by an image builder and is not to be trusted with the rest of the slot either.
 */
export function entryPath(name: string): string {
  if (name.startsWith("/")) throw new UnsafeEntryError(name, "has an absolute path");
  const parts = name.split("/").filter((part) => part !== "" && part !== ".");
  if (parts.includes("..")) throw new UnsafeEntryError(name, 'has a ".." component');
  if (parts.some((part) => part.includes("\0"))) throw new UnsafeEntryError(name, "has a NUL byte in its name");
  return parts.join("/");
}

const ancestorsOf = (rel: string): string[] => {
  const parts = rel.split("/");
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join("/"));
};

export interface SlotUnpackerOptions {
  /** Set owners from the layer (lchown); only root may, so the agent does it only when running as root. */
  chown: boolean;
}

/** Applies layers in order to one slot; call finish() after the last to give directories their final modes and times. */
export class SlotUnpacker {
  readonly stats: UnpackStats = { files: 0, directories: 0, symlinks: 0, hardLinks: 0, whiteouts: 0, skippedSpecial: 0 };
  /** Paths (relative to the slot) seen to be real directories, so each entry does not lstat its whole parent chain again. */
  private readonly realDirs = new Set<string>([""]);
  /**
   * Modes, owners and times of directories, applied at the end: a read-only directory (0555) could
   * not take its entries if it got its mode at once, and writing entries changes its mtime.
   */
  private readonly directories = new Map<string, DirectoryMeta>();
  /** Paths the current layer wrote, and their ancestors: whiteouts and opaque markers hide only lower layers. */
  private touched = new Set<string>();

  constructor(
    readonly slot: string,
    private readonly opts: SlotUnpackerOptions,
  ) {}

  /** Unpacks one layer: `source` is the blob, `decompress` (gunzip) sits between it and the tar parser. */
  async applyLayer(source: Readable, decompress: Transform | null): Promise<void> {
    this.touched = new Set();
    const extract = tar.extract();
    // A source that fails (a blob whose digest does not match errors at its end, after all its bytes
    // went by) destroys the parser with that error, so the loop below throws it. The parser ends only
    // after its input ended, so a layer never counts as unpacked before its digest was checked.
    const fail = (err: Error) => extract.destroy(err);
    let tarStream: Readable;
    if (decompress) {
      tarStream = pipelineWithCallback(source, decompress, (err) => err && fail(err));
    } else {
      tarStream = source;
      source.on("error", fail);
    }
    tarStream.pipe(extract as unknown as NodeJS.WritableStream);
    try {
      for await (const entry of extract) await this.applyEntry(entry.header, entry as unknown as AsyncIterable<Buffer>);
    } catch (err) {
      // Stop the download too; the layer has failed whatever is left of it.
      source.destroy();
      decompress?.destroy();
      throw err;
    }
  }

  async finish(): Promise<void> {
    // Deepest first, so that a parent's mtime is set after its children stopped changing it.
    const ordered = [...this.directories.entries()].sort((x, y) => y[0].split("/").length - x[0].split("/").length);
    for (const [rel, meta] of ordered) {
      const abs = path.join(this.slot, rel);
      if (this.opts.chown) await fs.lchown(abs, meta.uid, meta.gid);
      await fs.chmod(abs, meta.mode);
      await fs.utimes(abs, meta.mtime, meta.mtime);
    }
  }

  private async applyEntry(header: tar.Header, body: AsyncIterable<Buffer>): Promise<void> {
    const rel = entryPath(header.name);
    const base = path.posix.basename(rel);
    const type = header.type ?? "file";
    if (rel === "") return drain(body); // the slot itself: its mode is the agent's to choose
    if (base.startsWith(WHITEOUT_PREFIX)) {
      await drain(body);
      return this.applyWhiteout(rel, header.name);
    }

    if (type === "character-device" || type === "block-device" || type === "fifo") {
      this.stats.skippedSpecial++;
      return drain(body);
    }
    const abs = await this.prepareParents(rel, header.name);
    this.touch(rel);
    const mode = (header.mode ?? 0o644) & 0o7777;
    const mtime = header.mtime ?? new Date(0);
    const uid = header.uid ?? 0;
    const gid = header.gid ?? 0;

    switch (type) {
      case "directory": {
        const existing = await lstatOrNull(abs);
        if (!existing?.isDirectory()) {
          if (existing) await this.remove(rel);
          await fs.mkdir(abs, { mode: 0o700 });
        }
        this.realDirs.add(rel);
        this.directories.set(rel, { mode, uid, gid, mtime });
        this.stats.directories++;
        return drain(body);
      }
      case "file":
      case "contiguous-file": {
        await this.remove(rel);
        // "wx" (O_CREAT|O_EXCL) never opens an existing file, so never writes through a symlink put there meanwhile.
        await pipeline(chunksOf(body), createWriteStream(abs, { flags: "wx", mode: 0o600 }));
        if (this.opts.chown) await fs.lchown(abs, uid, gid);
        // After chown, which clears set-user-ID and set-group-ID bits.
        await fs.chmod(abs, mode);
        await fs.utimes(abs, mtime, mtime);
        this.stats.files++;
        return;
      }
      case "symlink": {
        await drain(body);
        if (!header.linkname) throw new UnsafeEntryError(header.name, "is a symbolic link without a target");
        await this.remove(rel);
        // The target is stored as written: it is resolved by the booted system, inside its own root.
        await fs.symlink(header.linkname, abs);
        if (this.opts.chown) await fs.lchown(abs, uid, gid);
        await fs.lutimes(abs, mtime, mtime);
        this.stats.symlinks++;
        return;
      }
      case "link": {
        await drain(body);
        const target = entryPath(header.linkname ?? "");
        if (target === "" || !(await this.isRealDirectoryChain(path.posix.dirname(target)))) {
          throw new UnsafeEntryError(header.name, `is a hard link to "${header.linkname}", which is not a file in the slot`);
        }
        const targetAbs = path.join(this.slot, target);
        const existing = await lstatOrNull(targetAbs);
        if (!existing || existing.isDirectory()) throw new UnsafeEntryError(header.name, `is a hard link to "${header.linkname}", which is not a file in the slot`);
        if (target === rel) return;
        await this.remove(rel);
        await fs.link(targetAbs, abs);
        this.stats.hardLinks++;
        return;
      }
      default:
        // pax and GNU long-name headers are consumed by tar-stream; anything else is not part of a root filesystem.
        throw new UnsafeEntryError(header.name, `has the entry type "${type}", which the agent cannot unpack`);
    }
  }

  private async applyWhiteout(rel: string, name: string): Promise<void> {
    const base = path.posix.basename(rel);
    const dir = path.posix.dirname(rel) === "." ? "" : path.posix.dirname(rel);
    if (base === OPAQUE_MARKER) {
      // The directory itself belongs to this layer; what lower layers put in it does not.
      await this.prepareParents(rel, name);
      this.touch(dir === "" ? "" : `${dir}/${OPAQUE_MARKER}`);
      this.stats.whiteouts++;
      return this.clearLower(dir);
    }
    // Other ".wh..wh." names are aufs bookkeeping, not deletions.
    if (base.startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`)) return;
    const victim = dir === "" ? base.slice(WHITEOUT_PREFIX.length) : `${dir}/${base.slice(WHITEOUT_PREFIX.length)}`;
    this.stats.whiteouts++;
    // Through a symbolic link the victim would be outside this directory; nothing of lower layers is there to hide.
    if (this.touched.has(victim) || !(await this.isRealDirectoryChain(dir))) return;
    await this.remove(victim);
  }

  /** Removes from `dir` whatever the current layer did not write, recursing into directories it wrote into. */
  private async clearLower(dir: string): Promise<void> {
    const abs = path.join(this.slot, dir);
    for (const child of await fs.readdir(abs)) {
      const rel = dir === "" ? child : `${dir}/${child}`;
      if (!this.touched.has(rel)) await this.remove(rel);
      else if (this.realDirs.has(rel) || (await lstatOrNull(path.join(this.slot, rel)))?.isDirectory()) await this.clearLower(rel);
    }
  }

  /**
   * Makes every parent of `rel` a real directory inside the slot, creating missing ones, and
   * returns the entry's absolute path. A symbolic link (or a file) in the way is refused rather
   * than followed: following it is how a layer would write outside the slot.
   */
  private async prepareParents(rel: string, name: string): Promise<string> {
    for (const ancestor of ancestorsOf(rel)) {
      if (this.realDirs.has(ancestor)) continue;
      const abs = path.join(this.slot, ancestor);
      const stat = await lstatOrNull(abs);
      if (!stat) await fs.mkdir(abs, { mode: 0o755 });
      else if (!stat.isDirectory()) {
        throw new UnsafeEntryError(name, `would be written through "${ancestor}", which is ${stat.isSymbolicLink() ? "a symbolic link" : "not a directory"} in the slot`);
      }
      this.realDirs.add(ancestor);
    }
    return path.join(this.slot, rel);
  }

  /** True when `dir` and all its parents are real directories in the slot (false if any is missing or a link). */
  private async isRealDirectoryChain(dir: string): Promise<boolean> {
    const rel = dir === "." ? "" : dir;
    for (const part of [...ancestorsOf(rel), rel]) {
      if (this.realDirs.has(part)) continue;
      if (!(await lstatOrNull(path.join(this.slot, part)))?.isDirectory()) return false;
      this.realDirs.add(part);
    }
    return true;
  }

  private touch(rel: string) {
    this.touched.add(rel);
    for (const ancestor of ancestorsOf(rel)) this.touched.add(ancestor);
  }

  /** Removes a path of the slot (a link itself, never its target) and forgets what was known below it. */
  private async remove(rel: string): Promise<void> {
    const abs = path.join(this.slot, rel);
    const stat = await lstatOrNull(abs);
    if (!stat) return;
    if (stat.isDirectory()) await fs.rm(abs, { recursive: true, force: true });
    else await fs.unlink(abs);
    const below = `${rel}/`;
    for (const known of this.realDirs) if (known === rel || known.startsWith(below)) this.realDirs.delete(known);
    for (const known of this.directories.keys()) if (known === rel || known.startsWith(below)) this.directories.delete(known);
  }
}

async function lstatOrNull(abs: string) {
  try {
    return await fs.lstat(abs);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

/** Reads an entry's body to its end; tar-stream moves to the next entry only then. */
async function drain(body: AsyncIterable<Buffer>): Promise<void> {
  for await (const chunk of body) void chunk;
}

/**
 * An entry's body as a plain async iterable: tar-stream's entries are streamx streams, which
 * node:stream's pipeline would treat as Node streams and wait on events they do not emit alike.
 */
async function* chunksOf(body: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  for await (const chunk of body) yield chunk;
}
