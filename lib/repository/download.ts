// Artefact downloads over HTTP: streamed from the local store (a cache) or else from the registry, never buffered
// whole; content-addressed, so ETag is the digest and the response is immutable. Range gives 206 or 416.
import fs from "node:fs";
import { Readable } from "node:stream";
import parseRange from "range-parser";
import { sliceStream } from "../api/slice-stream";
import { ArtefactStore, artefactRoot } from "../builder/artefact-store";
import { config } from "../config";
import { RegistryClient } from "../registry/client";
import { RegistryNotFoundError } from "../registry/errors";
import { NotFoundError } from "../errors";
import type { ArtefactDownload } from "./queries";

const CACHE_CONTROL = "public, max-age=31536000, immutable";

const contentType = (compression: string) => (compression === "zstd" ? "application/zstd" : "application/gzip");

export interface ArtefactSources {
  store: ArtefactStore | null;
  registry: RegistryClient | null;
}

let defaults: ArtefactSources | null = null;

/** This process's sources: the local store under the data directory and the registry the workers push to. */
export function defaultArtefactSources(): ArtefactSources {
  defaults ??= { store: new ArtefactStore(artefactRoot(config.dataDir)), registry: new RegistryClient(config.registryUrl) };
  return defaults;
}

/** The response for GET/HEAD of one artefact the actor may read (see findArtefactForDownload). */
export async function artefactResponse(req: Request, artefact: ArtefactDownload, sources: ArtefactSources, opts: { fileName?: string } = {}): Promise<Response> {
  const etag = `"${artefact.digest}"`;
  const headers = new Headers({
    etag,
    "cache-control": CACHE_CONTROL,
    "accept-ranges": "bytes",
    "content-type": contentType(artefact.compression),
    "x-content-type-options": "nosniff",
  });
  const hex = artefact.digest.slice("sha256:".length);
  headers.set("content-disposition", `attachment; filename="${opts.fileName ?? `${hex}.tar.${artefact.compression === "zstd" ? "zst" : "gz"}`}"`);
  // RFC 9530's Repr-Digest, so a client can check what it got without knowing our URL scheme.
  headers.set("repr-digest", `sha-256=:${Buffer.from(hex, "hex").toString("base64")}:`);

  const ifNoneMatch = req.headers.get("if-none-match");
  if (ifNoneMatch && ifNoneMatch.split(",").some((t) => t.trim() === etag || t.trim() === "*")) return new Response(null, { status: 304, headers });

  let start = 0;
  let end = artefact.size - 1;
  let status = 200;
  const range = req.headers.get("range");
  // If-Range with another validator means "the whole thing"; ours never changes, so only a mismatch matters.
  const ifRange = req.headers.get("if-range");
  if (range && (!ifRange || ifRange === etag)) {
    const parsed = parseRange(artefact.size, range, { combine: true });
    if (parsed === -1) {
      headers.set("content-range", `bytes */${artefact.size}`);
      return Response.json({ error: { code: "range_not_satisfiable", message: `The range ${range} is outside the artefact's ${artefact.size} bytes.` } }, { status: 416, headers });
    }
    if (parsed === -2 || parsed.type !== "bytes") {
      return Response.json({ error: { code: "bad_request", message: `The Range header "${range}" is malformed; send e.g. "bytes=0-1023".` } }, { status: 400, headers });
    }
    if (parsed.length > 1) {
      // One range serves every client we know (resumes, probes); a multipart body is not worth its complexity.
      return Response.json({ error: { code: "range_not_satisfiable", message: "Send a single byte range." } }, { status: 416, headers: { ...Object.fromEntries(headers), "content-range": `bytes */${artefact.size}` } });
    }
    ({ start, end } = parsed[0]);
    status = 206;
    headers.set("content-range", `bytes ${start}-${end}/${artefact.size}`);
  }
  headers.set("content-length", String(artefact.size === 0 ? 0 : end - start + 1));
  if (req.method === "HEAD") return new Response(null, { status, headers });
  const body = await openArtefact(artefact, sources, start, end);
  return new Response(Readable.toWeb(body) as ReadableStream, { status, headers });
}

/** Bytes [start, end] of an artefact: the local store when it has it, else the registry repository it was published to. */
async function openArtefact(artefact: ArtefactDownload, sources: ArtefactSources, start: number, end: number): Promise<Readable> {
  if (artefact.size === 0) return Readable.from([]);
  if (sources.store?.has(artefact.digest)) return fs.createReadStream(sources.store.pathOf(artefact.digest), { start, end });
  if (sources.registry && artefact.registryRepository) {
    try {
      const whole = await sources.registry.openBlob(artefact.registryRepository, artefact.digest);
      if (start === 0 && end === artefact.size - 1) return whole;
      // Leaving the loop early destroys the registry stream: the rest of the blob is not fetched.
      return Readable.from(sliceStream(whole, start, end));
    } catch (err) {
      if (!(err instanceof RegistryNotFoundError)) throw err;
    }
  }
  throw new NotFoundError(`The artefact ${artefact.digest} is in neither this server's store nor the registry; rebuilding the flavour makes it again.`);
}
