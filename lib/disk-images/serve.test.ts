// Downloads of disk image files: whole, ranged, refused and not modified, from a real file on disk and from a stand-in
// for the registry's blob stream when this node has no copy.
import crypto from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NotFoundError } from "../errors";
import { serveDiskImageFile, type DownloadFile, type DownloadSources, type Served } from "./serve";

let dir: string;
let bytes: Buffer;
let file: DownloadFile;
let local: DownloadSources;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "strata-serve-"));
  // Larger than a read stream's 64 KiB chunk, so ranges cross chunk boundaries.
  bytes = crypto.randomBytes(300_000);
  const digest = `sha256:${crypto.createHash("sha256").update(bytes).digest("hex")}`;
  file = { digest, size: bytes.length, filename: "kiosk-r1.2.img" };
  const localPath = path.join(dir, "blob");
  await fs.writeFile(localPath, bytes);
  local = { localPath };
});

afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const request = (headers: Record<string, string> = {}, method = "GET") => ({ method, headers: new Headers(headers) });

async function body(served: Served): Promise<Buffer> {
  expect(served.stream).not.toBeNull();
  const chunks: Buffer[] = [];
  for await (const chunk of served.stream as AsyncIterable<Buffer>) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

describe("serveDiskImageFile", () => {
  it("sends the whole file with its length, name, ETag and sha256", async () => {
    const served = await serveDiskImageFile(request(), file, local);
    expect(served.status).toBe(200);
    const hex = file.digest.slice("sha256:".length);
    expect(served.headers).toMatchObject({
      "content-length": String(bytes.length),
      "accept-ranges": "bytes",
      "content-type": "application/octet-stream",
      "content-disposition": 'attachment; filename="kiosk-r1.2.img"',
      etag: `"${file.digest}"`,
      "x-checksum-sha256": hex,
      digest: `sha-256=${Buffer.from(hex, "hex").toString("base64")}`,
    });
    expect(served.headers["content-range"]).toBeUndefined();
    expect((await body(served)).equals(bytes)).toBe(true);
  });

  it.each([
    ["bytes=0-99", 0, 99],
    ["bytes=65530-70000", 65530, 70000],
    ["bytes=299990-", 299990, 299999],
    ["bytes=-10", 299990, 299999],
    // An end past the file is cut to its last byte.
    ["bytes=299000-999999", 299000, 299999],
  ])("answers %s with 206 and exactly those bytes", async (range, start, end) => {
    const served = await serveDiskImageFile(request({ range }), file, local);
    expect(served.status).toBe(206);
    expect(served.headers["content-range"]).toBe(`bytes ${start}-${end}/${bytes.length}`);
    expect(served.headers["content-length"]).toBe(String(end - start + 1));
    expect((await body(served)).equals(bytes.subarray(start, end + 1))).toBe(true);
  });

  it("refuses a range past the end with 416 and the file's size", async () => {
    const served = await serveDiskImageFile(request({ range: `bytes=${bytes.length}-` }), file, local);
    expect(served.status).toBe(416);
    expect(served.headers["content-range"]).toBe(`bytes */${bytes.length}`);
    expect(served.stream).toBeNull();
    expect(served.error?.message).toMatch(/outside the file's 300000 bytes/);
  });

  it("refuses several ranges with 416 and a malformed one with 400", async () => {
    const several = await serveDiskImageFile(request({ range: "bytes=0-9,100-199" }), file, local);
    expect(several.status).toBe(416);
    expect(several.error?.message).toMatch(/single byte range/);
    const malformed = await serveDiskImageFile(request({ range: "bytes=abc" }), file, local);
    expect(malformed.status).toBe(400);
  });

  it("ignores a range in another unit, and one under an If-Range that no longer matches", async () => {
    const items = await serveDiskImageFile(request({ range: "items=0-1" }), file, local);
    expect(items.status).toBe(200);
    const stale = await serveDiskImageFile(request({ range: "bytes=0-9", "if-range": '"sha256:other"' }), file, local);
    expect(stale.status).toBe(200);
    expect(stale.headers["content-length"]).toBe(String(bytes.length));
    stale.stream?.destroy();
    const fresh = await serveDiskImageFile(request({ range: "bytes=0-9", "if-range": `"${file.digest}"` }), file, local);
    expect(fresh.status).toBe(206);
    expect((await body(fresh)).equals(bytes.subarray(0, 10))).toBe(true);
  });

  it("answers 304 without a body when the ETag matches, and 200 when it does not", async () => {
    for (const ifNoneMatch of [`"${file.digest}"`, `W/"${file.digest}"`, `"sha256:other", "${file.digest}"`, "*"]) {
      const served = await serveDiskImageFile(request({ "if-none-match": ifNoneMatch }), file, local);
      expect(served.status, ifNoneMatch).toBe(304);
      expect(served.stream).toBeNull();
      expect(served.headers.etag).toBe(`"${file.digest}"`);
    }
    const other = await serveDiskImageFile(request({ "if-none-match": '"sha256:other"' }), file, local);
    expect(other.status).toBe(200);
    other.stream?.destroy();
  });

  it("answers HEAD with the headers of GET and no body, without opening a source", async () => {
    const nowhere = { localPath: path.join(dir, "missing") };
    const whole = await serveDiskImageFile(request({}, "HEAD"), file, nowhere);
    expect(whole.status).toBe(200);
    expect(whole.stream).toBeNull();
    expect(whole.headers["content-length"]).toBe(String(bytes.length));
    const ranged = await serveDiskImageFile(request({ range: "bytes=-100" }, "HEAD"), file, nowhere);
    expect(ranged.status).toBe(206);
    expect(ranged.headers["content-range"]).toBe(`bytes 299900-299999/${bytes.length}`);
    expect(ranged.headers["content-length"]).toBe("100");
  });

  describe("without a copy on this node", () => {
    /** The registry's blob, in chunks of 10 000 bytes; counts how many chunks were read. */
    function registry() {
      const state = { opened: 0, chunksRead: 0 };
      const openRemote = async () => {
        state.opened++;
        return Readable.from(
          (function* () {
            for (let i = 0; i < bytes.length; i += 10_000) {
              state.chunksRead++;
              yield bytes.subarray(i, i + 10_000);
            }
          })(),
        );
      };
      return { state, sources: { localPath: path.join(dir, "missing"), openRemote } };
    }

    it("streams the whole blob from the registry", async () => {
      const { state, sources } = registry();
      const served = await serveDiskImageFile(request(), file, sources);
      expect(served.status).toBe(200);
      expect((await body(served)).equals(bytes)).toBe(true);
      expect(state.opened).toBe(1);
    });

    it("serves a range from the blob and stops reading after its end", async () => {
      const { state, sources } = registry();
      const served = await serveDiskImageFile(request({ range: "bytes=15000-25009" }), file, sources);
      expect(served.status).toBe(206);
      expect((await body(served)).equals(bytes.subarray(15000, 25010))).toBe(true);
      expect(state.chunksRead).toBeLessThanOrEqual(4);
    });

    it("uses a local file only when it has the file's size (not one still being written)", async () => {
      const partial = path.join(dir, "partial");
      await fs.writeFile(partial, bytes.subarray(0, 1000));
      const { state, sources } = registry();
      const served = await serveDiskImageFile(request(), file, { ...sources, localPath: partial });
      expect((await body(served)).equals(bytes)).toBe(true);
      expect(state.opened).toBe(1);
    });

    it("is a NotFoundError when neither the node nor the registry has it", async () => {
      await expect(serveDiskImageFile(request(), file, { localPath: path.join(dir, "missing") })).rejects.toBeInstanceOf(NotFoundError);
    });
  });
});
