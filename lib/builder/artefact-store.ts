// Content-addressed blob directory for package artefacts: <root>/sha256/<2 hex>/<64 hex>, written to a temp file then renamed.
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { Transform, type Duplex, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

export interface StoredBlob {
  /** "sha256:<64 hex>" of the stored bytes. */
  digest: string;
  size: number;
}

const DIGEST = /^sha256:([0-9a-f]{64})$/;

export class ArtefactStore {
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  /** Where the blob of `digest` lives (whether or not it exists). */
  pathOf(digest: string): string {
    const m = DIGEST.exec(digest);
    if (!m) throw new Error(`not a sha256 digest: ${digest}`);
    return path.join(this.root, "sha256", m[1].slice(0, 2), m[1]);
  }

  has(digest: string): boolean {
    return fs.existsSync(this.pathOf(digest));
  }

  open(digest: string): fs.ReadStream {
    return fs.createReadStream(this.pathOf(digest));
  }

  /**
   * Streams `source` (through `transforms`, e.g. gzip) into the store, hashing on the way. The temp file lives inside the store so the
   * final rename is atomic; a blob already present is kept and the temp file dropped (idempotent).
   */
  async put(source: Readable, ...transforms: Duplex[]): Promise<StoredBlob> {
    const tmpDir = path.join(this.root, "tmp");
    fs.mkdirSync(tmpDir, { recursive: true });
    const tmp = path.join(tmpDir, `${process.pid}-${randomBytes(8).toString("hex")}`);
    const hash = createHash("sha256");
    let size = 0;
    const hasher = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        size += chunk.length;
        cb(null, chunk);
      },
    });
    try {
      await pipeline([source, ...transforms, hasher, fs.createWriteStream(tmp, { mode: 0o644 })]);
      const digest = `sha256:${hash.digest("hex")}`;
      const final = this.pathOf(digest);
      fs.mkdirSync(path.dirname(final), { recursive: true });
      if (fs.existsSync(final)) fs.rmSync(tmp, { force: true });
      else fs.renameSync(tmp, final);
      return { digest, size };
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw err;
    }
  }

  /**
   * Small JSON documents keyed by a package cache key (the artefact metadata of a cached image),
   * so a build that reuses a cached layer need not extract it again.
   */
  private indexPath(key: string): string {
    if (!/^[0-9a-f]{16,128}$/.test(key)) throw new Error(`not a cache key: ${key}`);
    return path.join(this.root, "keys", key.slice(0, 2), `${key}.json`);
  }

  saveIndex(key: string, value: unknown): void {
    const file = this.indexPath(key);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}`;
    fs.writeFileSync(tmp, JSON.stringify(value));
    fs.renameSync(tmp, file);
  }

  loadIndex<T>(key: string): T | null {
    try {
      return JSON.parse(fs.readFileSync(this.indexPath(key), "utf8")) as T;
    } catch {
      return null;
    }
  }
}

/** Where the artefact store lives under a data directory. */
export const artefactRoot = (dataDir: string) => path.join(dataDir, "artefacts");

export const createArtefactStore = (root: string) => new ArtefactStore(root);
