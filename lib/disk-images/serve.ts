// Disk image downloads over HTTP, without the framework: the status, headers and byte stream for one GET or HEAD of a
// made file. Files are content-addressed, so the ETag is the digest and never changes; one byte range gives 206,
// a range outside the file 416. The bytes come from this node's store, else from the registry's compressed copy.
import fs from "node:fs";
import { Readable } from "node:stream";
import parseRange from "range-parser";
import { sliceStream } from "../api/slice-stream";
import { NotFoundError } from "../errors";

export interface DownloadFile {
  digest: string;
  size: number;
  /** The name the browser saves it under, e.g. kiosk-r2.1.img (no quotes or slashes: see downloadName). */
  filename: string;
}

export interface DownloadSources {
  /** This node's copy (diskImageStorePath); used when it exists with the file's size. */
  localPath: string;
  /** The whole blob from the registry, when the file is not on this node. */
  openRemote?: () => Promise<Readable>;
}

export interface DownloadRequest {
  method: string;
  headers: { get(name: string): string | null };
}

export interface Served {
  status: number;
  headers: Record<string, string>;
  /** The bytes to send: null for HEAD, 304 and refusals. */
  stream: Readable | null;
  /** A refusal's `{ code, message }`, for the API's error body (400, 416). */
  error?: { code: string; message: string };
}

// Private: the file belongs to one organisation, so a shared cache must not keep it; the browser may, for good.
const CACHE_CONTROL = "private, max-age=31536000, immutable";

/** `"sha256:…"`, `W/"sha256:…"` or `*` in an If-None-Match list. */
function matches(list: string, etag: string): boolean {
  return list.split(",").some((t) => {
    const tag = t.trim().replace(/^W\//, "");
    return tag === "*" || tag === etag;
  });
}

async function isLocal(localPath: string, size: number): Promise<boolean> {
  try {
    const stat = await fs.promises.stat(localPath);
    return stat.isFile() && stat.size === size;
  } catch {
    return false;
  }
}

/** Bytes [start, end] of the file: this node's copy when it has it, else a slice of the registry's blob. */
async function open(file: DownloadFile, sources: DownloadSources, start: number, end: number): Promise<Readable> {
  if (await isLocal(sources.localPath, file.size)) return fs.createReadStream(sources.localPath, { start, end });
  if (sources.openRemote) {
    const whole = await sources.openRemote();
    if (start === 0 && end === file.size - 1) return whole;
    // The registry client has no ranged read: skip to `start` and stop after `end` (leaving early destroys the stream).
    return Readable.from(sliceStream(whole, start, end));
  }
  throw new NotFoundError(`The file ${file.digest} is neither on this server nor in the registry; ask for a new disk image.`);
}

/** A refused range: an error body (the route sends it as JSON), so none of the file's headers but where it ends. */
function refusal(status: 400 | 416, file: DownloadFile, code: string, message: string): Served {
  const headers: Record<string, string> = { etag: `"${file.digest}"`, "accept-ranges": "bytes" };
  if (status === 416) headers["content-range"] = `bytes */${file.size}`;
  return { status, headers, stream: null, error: { code, message } };
}

/** The response to GET or HEAD of one disk image file. Throws NotFoundError when no source has it (GET only). */
export async function serveDiskImageFile(req: DownloadRequest, file: DownloadFile, sources: DownloadSources): Promise<Served> {
  const etag = `"${file.digest}"`;
  const hex = file.digest.replace(/^sha256:/, "");
  const base64 = Buffer.from(hex, "hex").toString("base64");
  const headers: Record<string, string> = {
    etag,
    "cache-control": CACHE_CONTROL,
    "accept-ranges": "bytes",
    "content-type": "application/octet-stream",
    "content-disposition": `attachment; filename="${file.filename}"`,
    "x-content-type-options": "nosniff",
    // The sha256 of the whole file in the forms clients check: plain hex, RFC 3230's Digest and RFC 9530's Repr-Digest.
    "x-checksum-sha256": hex,
    digest: `sha-256=${base64}`,
    "repr-digest": `sha-256=:${base64}:`,
  };

  const ifNoneMatch = req.headers.get("if-none-match");
  if (ifNoneMatch && matches(ifNoneMatch, etag)) return { status: 304, headers, stream: null };

  let start = 0;
  let end = file.size - 1;
  let status = 200;
  const range = req.headers.get("range");
  // If-Range with another validator asks for the whole file; ours never changes, so only a mismatch matters.
  const ifRange = req.headers.get("if-range");
  if (range && file.size > 0 && (!ifRange || ifRange.trim() === etag)) {
    const parsed = parseRange(file.size, range, { combine: true });
    if (parsed === -1) {
      return refusal(416, file, "range_not_satisfiable", `The range ${range} is outside the file's ${file.size} bytes.`);
    }
    if (parsed === -2) return refusal(400, file, "bad_request", `The Range header "${range}" is malformed; send e.g. "bytes=0-1048575".`);
    // A unit other than bytes is ignored (RFC 9110 §14.2): the whole file.
    if (parsed.type === "bytes") {
      if (parsed.length > 1) {
        // One range serves every client we know (resumes, probes); a multipart body is not worth its complexity.
        return refusal(416, file, "range_not_satisfiable", "Send a single byte range.");
      }
      ({ start, end } = parsed[0]);
      status = 206;
      headers["content-range"] = `bytes ${start}-${end}/${file.size}`;
    }
  }
  headers["content-length"] = String(file.size === 0 ? 0 : end - start + 1);
  if (req.method === "HEAD") return { status, headers, stream: null };
  const stream = file.size === 0 ? Readable.from([]) : await open(file, sources, start, end);
  return { status, headers, stream };
}
