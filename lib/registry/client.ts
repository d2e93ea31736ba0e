// The one client for OCI registries (distribution API v2): sign-in, manifests and blobs, every digest verified.
//
// Hand-written over global fetch: the npm clients (@snyk/docker-registry-v2-client,
// docker-registry-client) only read, and Strata also pushes, mounts and copies blobs.
import { Readable, Transform } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { DomainError, ValidationError } from "../errors";
import { parseChallenges, type Challenge } from "./challenge";
import { credentialsFor, type RegistryCredentials } from "./credentials";
import { assertDigest, digestOf, hasherFor, isDigest } from "./digest";
import { parseRegistry, RegistryUnavailableError, type RegistryEndpoint } from "./endpoint";
import { DigestMismatchError, RegistryAuthError, RegistryNotFoundError, RegistryRequestError } from "./errors";

export { DigestMismatchError, RegistryAuthError, RegistryNotFoundError, RegistryRequestError, RegistryUnavailableError };

/** Manifest and index types we ask for: OCI and Docker schema 2. */
export const MANIFEST_MEDIA_TYPES = [
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
] as const;

export interface RegistryClientOptions {
  /** Credentials to use; `null` for anonymous access; left out: `credentialsFor(endpoint.url)`. */
  credentials?: RegistryCredentials | null;
  /** How long a request may go without any data moving (default 30 s). */
  timeoutMs?: number;
}

export interface RegistryHealth {
  ok: boolean;
  detail: string;
  latencyMs: number;
}

export interface ManifestInfo {
  digest: string;
  mediaType: string;
  size: number;
}

export interface FetchedManifest {
  digest: string;
  mediaType: string;
  /** The manifest exactly as stored: its digest is over these bytes, not over re-serialised JSON. */
  bytes: Buffer;
  /** The parsed JSON, not checked against a schema: its shape depends on mediaType (image manifest or index), so a
   * caller checks the fields it reads. */
  manifest: unknown;
}

const DEFAULT_TIMEOUT_MS = 30_000;
// The distribution spec lets clients refuse manifests above 4 MiB; a larger one is not an image manifest.
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const UPLOAD_CHUNK_BYTES = 256 * 1024;
// Sent with identity-token (OAuth2) requests to token servers, which log it.
const OAUTH_CLIENT_ID = "strata";

// Distribution's grammar for repository names and tags; checked so that a name never changes the URL's path.
const REPOSITORY = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

/** True for a repository name the distribution grammar allows (and so one that cannot change a URL's path). */
export const isRepositoryName = (repo: string) => repo.length <= 255 && REPOSITORY.test(repo);
/** True for a valid tag. */
export const isTag = (tag: string) => TAG.test(tag);

const pullScope = (repo: string) => `repository:${repo}:pull`;
const pushScope = (repo: string) => `repository:${repo}:pull,push`;

type Method = "GET" | "HEAD" | "POST" | "PUT" | "DELETE";

interface Exchange {
  method: Method;
  /** A path under the API base ("/v2/…"), or an absolute URL the registry handed out (upload locations). */
  url: string;
  /** Token scopes the request needs (none for `/v2/`). */
  scopes: string[];
  headers?: Record<string, string>;
  /** A stream cannot be sent twice, so a stream body gets no retry after a 401. */
  body?: { bytes: Buffer } | { stream: Readable; size?: number };
  /** The request as messages name it: "GET manifest acme/os:1.0". */
  what: string;
}

interface Sent {
  res: Response;
  watchdog: Watchdog;
}

interface Authorization {
  header: string;
  credentialsSent: boolean;
  /** Bearer tokens expire; Basic does not. */
  expiresAt: number;
}

/**
 * Aborts a request once nothing has moved for `ms`. A fixed deadline (AbortSignal.timeout) would
 * cut off a large blob on a slow link, and no deadline would hang on a registry that stopped
 * answering, so the deadline moves on with each chunk sent or received.
 */
class Watchdog {
  private readonly controller = new AbortController();
  private last = Date.now();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly ms: number) {
    this.arm(ms);
  }
  get signal(): AbortSignal {
    return this.controller.signal;
  }
  touch() {
    this.last = Date.now();
  }
  stop() {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
  private arm(delay: number) {
    this.timer = setTimeout(() => {
      const idle = Date.now() - this.last;
      if (idle < this.ms) return this.arm(this.ms - idle);
      const reason = new Error(`no data for ${this.ms} ms`);
      reason.name = "TimeoutError";
      this.controller.abort(reason);
    }, delay);
    this.timer.unref();
  }
}

function* chunksOf(bytes: Buffer): Generator<Buffer> {
  for (let offset = 0; offset < bytes.length; offset += UPLOAD_CHUNK_BYTES) yield bytes.subarray(offset, offset + UPLOAD_CHUNK_BYTES);
}

function checkRepository(repo: string) {
  if (repo.length > 255 || !REPOSITORY.test(repo)) {
    throw new ValidationError(`"${repo}" is not a valid repository name (lower-case letters, digits and . _ - separators, parts joined by /).`);
  }
}

function checkReference(reference: string) {
  if (!TAG.test(reference) && !isDigest(reference)) throw new ValidationError(`"${reference}" is neither a tag nor a sha256/sha512 digest.`);
}

const refName = (repo: string, reference: string) => `${repo}${isDigest(reference) ? "@" : ":"}${reference}`;
const mediaTypeOf = (res: Response) => (res.headers.get("content-type") ?? "").split(";")[0].trim();

export class RegistryClient {
  readonly endpoint: RegistryEndpoint;
  private readonly credentials: RegistryCredentials | null;
  private readonly timeoutMs: number;
  /** Set once the registry asks for Basic: later requests carry it at once instead of being refused first. */
  private basic = false;
  /** Bearer tokens by scope set, and the requests for them in flight (parallel requests share one). */
  private readonly tokens = new Map<string, Authorization>();
  private readonly pendingTokens = new Map<string, Promise<Authorization>>();
  /** Set on a client made by withSignal: every request of it stops when this fires. */
  private signal: AbortSignal | undefined;

  constructor(endpoint: RegistryEndpoint | string, opts: RegistryClientOptions = {}) {
    const parsed = typeof endpoint === "string" ? parseRegistry(endpoint) : endpoint;
    // Copy only the address: callers may pass a richer object (a started registry service).
    this.endpoint = { url: parsed.url, apiBase: parsed.apiBase };
    this.credentials = opts.credentials === undefined ? credentialsFor(this.endpoint.url) : opts.credentials;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /**
   * This client (its sign-in and tokens shared) with every request stopped when `signal` fires, so a cancelled build
   * does not wait for a slow registry. Requests then fail with the signal's reason.
   */
  withSignal(signal: AbortSignal): RegistryClient {
    const bound = Object.create(this) as RegistryClient;
    bound.signal = signal;
    return bound;
  }

  /** Throws unless `GET /v2/` succeeds with our credentials. */
  async ping(): Promise<void> {
    const what = "GET /v2/";
    const { res, watchdog } = await this.send({ method: "GET", url: "/v2/", scopes: [], what });
    await discard(res, watchdog);
    if (res.status !== 200) {
      throw new RegistryUnavailableError(this.endpoint.url, `${what} answered HTTP ${res.status}; is this an OCI registry?`);
    }
  }

  /** The registry's status for health pages: never throws, answers within the client's timeout. */
  async health(): Promise<RegistryHealth> {
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      // Each request has its own timeout, but a ping can take three (refused, token, retry).
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new RegistryUnavailableError(this.endpoint.url, `no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      });
      await Promise.race([this.ping(), deadline]);
      return { ok: true, detail: `OCI registry at ${this.endpoint.url}`, latencyMs: Date.now() - started };
    } catch (err) {
      return { ok: false, detail: (err as Error).message, latencyMs: Date.now() - started };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Digest, media type and size of a manifest, or null when the registry has none under `reference`. */
  async headManifest(repo: string, reference: string): Promise<ManifestInfo | null> {
    checkRepository(repo);
    checkReference(reference);
    const what = `HEAD manifest ${refName(repo, reference)}`;
    const { res, watchdog } = await this.send({
      method: "HEAD",
      url: `/v2/${repo}/manifests/${reference}`,
      scopes: [pullScope(repo)],
      headers: { Accept: MANIFEST_MEDIA_TYPES.join(", ") },
      what,
    });
    await discard(res, watchdog);
    if (res.status === 404) return null;
    if (!res.ok) throw new RegistryRequestError(this.endpoint.url, what, res.status, "");
    const digest = res.headers.get("docker-content-digest");
    // The header is optional in the OCI spec; without it only the bytes tell the digest.
    if (!digest) {
      const fetched = await this.getManifest(repo, reference);
      return { digest: fetched.digest, mediaType: fetched.mediaType, size: fetched.bytes.length };
    }
    assertDigest(digest, `Docker-Content-Digest from ${this.endpoint.url}`);
    if (isDigest(reference) && digest !== reference) {
      throw new DigestMismatchError({ registry: this.endpoint.url, what: `The manifest ${refName(repo, reference)}`, expected: reference, actual: digest, source: "the reference asked for" });
    }
    return { digest, mediaType: mediaTypeOf(res), size: Number(res.headers.get("content-length") ?? 0) };
  }

  /** A manifest or index, its bytes checked against the registry's digest header and a digest reference. */
  async getManifest(repo: string, reference: string): Promise<FetchedManifest> {
    checkRepository(repo);
    checkReference(reference);
    const name = refName(repo, reference);
    const what = `GET manifest ${name}`;
    const { res, watchdog } = await this.send({
      method: "GET",
      url: `/v2/${repo}/manifests/${reference}`,
      scopes: [pullScope(repo)],
      headers: { Accept: MANIFEST_MEDIA_TYPES.join(", ") },
      what,
    });
    if (res.status === 404) {
      await discard(res, watchdog);
      throw new RegistryNotFoundError(this.endpoint.url, `manifest ${name}`);
    }
    if (!res.ok) throw await this.refusal(res, watchdog, what);
    const bytes = await this.readAll(res, watchdog, what, MAX_MANIFEST_BYTES);

    const announced = res.headers.get("docker-content-digest");
    if (announced) this.verify(bytes, announced, `The manifest ${name}`, "its Docker-Content-Digest header");
    if (isDigest(reference)) this.verify(bytes, reference, `The manifest ${name}`, "the reference asked for");
    const digest = isDigest(reference) ? reference : (announced ?? digestOf(bytes));

    let manifest: { mediaType?: unknown };
    try {
      manifest = JSON.parse(bytes.toString("utf8")) as { mediaType?: unknown };
    } catch {
      throw new RegistryRequestError(this.endpoint.url, what, res.status, "the manifest is not JSON");
    }
    const mediaType = typeof manifest?.mediaType === "string" ? manifest.mediaType : mediaTypeOf(res);
    return { digest, mediaType, bytes, manifest };
  }

  /** Stores a manifest under a tag or its digest; returns its digest, checked against the registry's. */
  async putManifest(repo: string, reference: string, bytes: Buffer, mediaType: string): Promise<string> {
    checkRepository(repo);
    checkReference(reference);
    const name = refName(repo, reference);
    const digest = digestOf(bytes, isDigest(reference) ? reference : undefined);
    if (isDigest(reference) && digest !== reference) throw new Error(`putManifest ${name}: the manifest's digest is ${digest}, not ${reference}`);
    const what = `PUT manifest ${name}`;
    const { res, watchdog } = await this.send({
      method: "PUT",
      url: `/v2/${repo}/manifests/${reference}`,
      scopes: [pushScope(repo)],
      headers: { "Content-Type": mediaType },
      body: { bytes },
      what,
    });
    if (!res.ok) throw await this.refusal(res, watchdog, what);
    await discard(res, watchdog);
    const stored = res.headers.get("docker-content-digest");
    if (stored && stored !== digestOf(bytes, stored)) {
      throw new DigestMismatchError({ registry: this.endpoint.url, what: `The manifest Strata pushed as ${name}`, expected: digestOf(bytes, stored), actual: stored, source: "the bytes sent" });
    }
    return digest;
  }

  /** Every tag of a repository (all pages), or none when the registry has no such repository. */
  async listTags(repo: string): Promise<string[]> {
    checkRepository(repo);
    const tags: string[] = [];
    let url: string | null = `/v2/${repo}/tags/list?n=1000`;
    while (url) {
      const what = `GET tags of ${repo}`;
      const { res, watchdog } = await this.send({ method: "GET", url, scopes: [pullScope(repo)], what });
      if (res.status === 404) {
        await discard(res, watchdog);
        return tags;
      }
      if (!res.ok) throw await this.refusal(res, watchdog, what);
      const body = JSON.parse((await this.readAll(res, watchdog, what, MAX_MANIFEST_BYTES)).toString("utf8")) as { tags?: string[] | null };
      tags.push(...(body.tags ?? []));
      // Pagination (distribution): Link: </v2/<repo>/tags/list?last=…&n=…>; rel="next"
      const next = /<([^>]+)>\s*;\s*rel="?next"?/.exec(res.headers.get("link") ?? "");
      url = next ? new URL(next[1], `${this.endpoint.apiBase}/`).href : null;
    }
    return tags;
  }

  /**
   * Deletes a manifest by digest (every tag naming it goes with it); false when it was gone already. A registry
   * that does not allow deletion answers 405 (distribution: storage.delete.enabled), thrown as RegistryRequestError.
   * The blobs stay until the registry's garbage collection runs.
   */
  async deleteManifest(repo: string, digest: string): Promise<boolean> {
    checkRepository(repo);
    assertDigest(digest);
    const what = `DELETE manifest ${repo}@${digest}`;
    const { res, watchdog } = await this.send({ method: "DELETE", url: `/v2/${repo}/manifests/${digest}`, scopes: [`repository:${repo}:delete`], what });
    if (res.status === 404) {
      await discard(res, watchdog);
      return false;
    }
    if (!res.ok) throw await this.refusal(res, watchdog, what);
    await discard(res, watchdog);
    return true;
  }

  /** The size of a blob, or null when the repository has no such blob. */
  async headBlob(repo: string, digest: string): Promise<{ size: number } | null> {
    checkRepository(repo);
    assertDigest(digest);
    const what = `HEAD blob ${repo}@${digest}`;
    const { res, watchdog } = await this.send({ method: "HEAD", url: `/v2/${repo}/blobs/${digest}`, scopes: [pullScope(repo)], what });
    await discard(res, watchdog);
    if (res.status === 404) return null;
    if (!res.ok) throw new RegistryRequestError(this.endpoint.url, what, res.status, "");
    return { size: Number(res.headers.get("content-length") ?? 0) };
  }

  /** A whole blob in memory, verified. For layers, prefer openBlob. */
  async getBlob(repo: string, digest: string): Promise<Buffer> {
    const what = `GET blob ${repo}@${digest}`;
    const { res, watchdog } = await this.blobResponse(repo, digest, what);
    const bytes = await this.readAll(res, watchdog, what);
    this.verify(bytes, digest, `The blob ${repo}@${digest}`, "its digest");
    return bytes;
  }

  /**
   * A blob as a stream, hashed on the way: the stream errors with DigestMismatchError at its end if
   * the bytes were not the blob's. Whoever reads it must treat that error as fatal for all it read.
   */
  async openBlob(repo: string, digest: string): Promise<Readable> {
    return (await this.openSizedBlob(repo, digest)).stream;
  }

  /** Uploads a blob in one request, unless the repository already has it. */
  async putBlob(repo: string, digest: string, body: Buffer): Promise<void> {
    checkRepository(repo);
    assertDigest(digest);
    const actual = digestOf(body, digest);
    if (actual !== digest) throw new Error(`putBlob ${repo}: the blob's digest is ${actual}, not ${digest}`);
    if (await this.headBlob(repo, digest)) return;
    const location = await this.startUpload(repo);
    await this.completeUpload(repo, digest, location, { bytes: body });
  }

  /**
   * Uploads a blob from a stream of `size` bytes, unless the repository already has it (then the
   * stream is destroyed unread). The registry checks the digest when the upload completes.
   */
  async putBlobStream(repo: string, digest: string, size: number, body: Readable): Promise<void> {
    checkRepository(repo);
    assertDigest(digest);
    try {
      if (await this.headBlob(repo, digest)) {
        body.destroy();
        return;
      }
      const location = await this.startUpload(repo);
      await this.completeUpload(repo, digest, location, { stream: body, size });
    } catch (err) {
      body.destroy();
      throw err;
    }
  }

  /**
   * Asks the registry to link a blob `fromRepo` has into `repo` without uploading it. False when it
   * cannot (other storage, no read access to `fromRepo`, blob missing): it then opens a normal
   * upload instead, which we cancel.
   */
  async mountBlob(repo: string, digest: string, fromRepo: string): Promise<boolean> {
    checkRepository(repo);
    checkRepository(fromRepo);
    assertDigest(digest);
    const what = `mount blob ${digest} from ${fromRepo} into ${repo}`;
    const { res, watchdog } = await this.send({
      method: "POST",
      url: `/v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(fromRepo)}`,
      scopes: [pushScope(repo), pullScope(fromRepo)],
      what,
    });
    if (res.status === 201) {
      await discard(res, watchdog);
      return true;
    }
    if (res.status !== 202) throw await this.refusal(res, watchdog, what);
    await discard(res, watchdog);
    await this.cancelUpload(repo, this.uploadLocation(res, what));
    return false;
  }

  /** Makes `toRepo` hold the blob `fromRepo` has: nothing if it does already, else a mount, else a streamed copy. */
  async copyBlob(fromRepo: string, toRepo: string, digest: string): Promise<void> {
    if (await this.headBlob(toRepo, digest)) return;
    if (fromRepo !== toRepo && (await this.mountBlob(toRepo, digest, fromRepo))) return;
    const { stream, size } = await this.openSizedBlob(fromRepo, digest);
    try {
      const location = await this.startUpload(toRepo);
      await this.completeUpload(toRepo, digest, location, { stream, size });
    } catch (err) {
      stream.destroy();
      throw err;
    }
  }

  /** The `authconfig` for dockerode's push and pull, so the engine signs in as this client does. */
  engineAuth(): Record<string, string> {
    const credentials = this.credentials;
    if (credentials?.identityToken) return { identitytoken: credentials.identityToken, serveraddress: this.endpoint.url };
    if (credentials?.username !== undefined && credentials.password !== undefined) {
      return { username: credentials.username, password: credentials.password, serveraddress: this.endpoint.url };
    }
    return {};
  }

  // --- blobs and uploads -------------------------------------------------------------------

  private async blobResponse(repo: string, digest: string, what: string): Promise<Sent> {
    checkRepository(repo);
    assertDigest(digest);
    const sent = await this.send({ method: "GET", url: `/v2/${repo}/blobs/${digest}`, scopes: [pullScope(repo)], what });
    if (sent.res.status === 404) {
      await discard(sent.res, sent.watchdog);
      throw new RegistryNotFoundError(this.endpoint.url, `blob ${repo}@${digest}`);
    }
    if (!sent.res.ok) throw await this.refusal(sent.res, sent.watchdog, what);
    return sent;
  }

  /** The blob as a verifying stream, and its size when the registry said it (for the upload of a copy). */
  private async openSizedBlob(repo: string, digest: string): Promise<{ stream: Readable; size?: number }> {
    const what = `GET blob ${repo}@${digest}`;
    const { res, watchdog } = await this.blobResponse(repo, digest, what);
    const length = res.headers.get("content-length");
    const source = res.body ? Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>) : Readable.from([]);
    const { hash, finish } = hasherFor(digest);
    const verified = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        watchdog.touch();
        hash.update(chunk);
        done(null, chunk);
      },
      flush: (done) => {
        watchdog.stop();
        const actual = finish();
        done(actual === digest ? null : new DigestMismatchError({ registry: this.endpoint.url, what: `The blob ${repo}@${digest}`, expected: digest, actual, source: "its digest" }));
      },
    });
    source.on("error", (err) => verified.destroy(this.transportError(err, what)));
    // A reader that stops early must not leave the connection (and the watchdog) running.
    verified.on("close", () => {
      watchdog.stop();
      source.destroy();
    });
    source.pipe(verified);
    return { stream: verified, size: length === null ? undefined : Number(length) };
  }

  /** Opens an upload session; returns where to send the blob. */
  private async startUpload(repo: string): Promise<URL> {
    const what = `POST blob upload to ${repo}`;
    const { res, watchdog } = await this.send({ method: "POST", url: `/v2/${repo}/blobs/uploads/`, scopes: [pushScope(repo)], what });
    if (res.status !== 202) throw await this.refusal(res, watchdog, what);
    await discard(res, watchdog);
    return this.uploadLocation(res, what);
  }

  /** Sends the whole blob to an upload session and closes it with the digest (the "monolithic" upload). */
  private async completeUpload(repo: string, digest: string, location: URL, body: NonNullable<Exchange["body"]>): Promise<void> {
    // Appended as text: the registry's own query (e.g. distribution's `_state`) must reach it byte for byte.
    const href = location.href;
    const url = `${href}${location.search ? "&" : href.endsWith("?") ? "" : "?"}digest=${encodeURIComponent(digest)}`;
    const what = `PUT blob ${repo}@${digest}`;
    const { res, watchdog } = await this.send({ method: "PUT", url, scopes: [pushScope(repo)], headers: { "Content-Type": "application/octet-stream" }, body, what });
    if (!res.ok) throw await this.refusal(res, watchdog, what);
    await discard(res, watchdog);
    const stored = res.headers.get("docker-content-digest");
    if (stored && stored !== digest) {
      throw new DigestMismatchError({ registry: this.endpoint.url, what: `The blob Strata uploaded to ${repo}`, expected: digest, actual: stored, source: "the upload" });
    }
  }

  private async cancelUpload(repo: string, location: URL): Promise<void> {
    try {
      const { res, watchdog } = await this.send({ method: "DELETE", url: location.href, scopes: [pushScope(repo)], what: `DELETE upload in ${repo}` });
      await discard(res, watchdog);
    } catch {
      // Only a stale upload session is left behind, which the registry purges by itself.
    }
  }

  /** The Location of an upload session, relative or absolute, as an absolute URL. */
  private uploadLocation(res: Response, what: string): URL {
    const location = res.headers.get("location");
    if (!location) throw new RegistryRequestError(this.endpoint.url, what, res.status, "the answer has no Location header");
    return new URL(location, `${this.endpoint.apiBase}/`);
  }

  // --- requests and authentication ------------------------------------------------------------

  /**
   * One request with sign-in: sent with what we already hold for its scopes (or anonymously); on
   * 401 it follows the challenge once and is sent again. Refusals after that, 5xx and transport
   * failures become the registry's typed errors; any other status is the caller's to read.
   */
  private async send(req: Exchange): Promise<Sent> {
    const scopeKey = req.scopes.join(" ");
    let auth = this.heldAuthorization(req.url, scopeKey);
    const replayable = !(req.body && "stream" in req.body);
    for (let attempt = 0; ; attempt++) {
      const sent = await this.fetchOnce(req, auth?.header);
      const { res, watchdog } = sent;
      if (res.status === 401 && attempt === 0 && replayable) {
        const challenges = parseChallenges(res.headers.get("www-authenticate") ?? "");
        const detail = await errorDetail(res, watchdog);
        auth = await this.authorize(challenges, req, scopeKey, auth, detail);
        continue;
      }
      if (res.status === 401 || res.status === 403) {
        throw new RegistryAuthError({
          registry: this.endpoint.url,
          status: res.status,
          request: req.what,
          credentialsSent: auth?.credentialsSent ?? false,
          username: auth?.credentialsSent ? this.credentials?.username : undefined,
          detail: await errorDetail(res, watchdog),
        });
      }
      if (res.status >= 500 || res.status === 429) {
        const detail = await errorDetail(res, watchdog);
        throw new RegistryUnavailableError(this.endpoint.url, `${req.what} answered HTTP ${res.status}${detail ? `: ${detail}` : ""}`);
      }
      return sent;
    }
  }

  private async fetchOnce(req: Exchange, authorization: string | undefined): Promise<Sent> {
    const url = req.url.startsWith("/") ? `${this.endpoint.apiBase}${req.url}` : req.url;
    const watchdog = new Watchdog(this.timeoutMs);
    // Blobs are hashed as they arrive; a transparently decompressed body would not match its digest.
    const headers: Record<string, string> = { "Accept-Encoding": "identity", ...req.headers };
    if (authorization) headers.Authorization = authorization;

    let body: Readable | undefined;
    let bodyError: unknown;
    if (req.body) {
      const source: Iterable<Buffer> | Readable = "bytes" in req.body ? chunksOf(req.body.bytes) : req.body.stream;
      const size = "bytes" in req.body ? req.body.bytes.length : req.body.size;
      if (size !== undefined && Number.isFinite(size)) headers["Content-Length"] = String(size);
      // Each chunk taken by fetch is progress for the watchdog; a failing source (e.g. a blob being
      // copied that turns out corrupt) is remembered, to be thrown instead of fetch's generic error.
      body = Readable.from(
        (async function* () {
          try {
            for await (const chunk of source) {
              watchdog.touch();
              yield chunk as Buffer;
            }
          } catch (err) {
            bodyError = err;
            throw err;
          }
        })(),
      );
    }
    try {
      const signal = this.signal ? AbortSignal.any([watchdog.signal, this.signal]) : watchdog.signal;
      const init = { method: req.method, headers, body, signal, ...(body ? { duplex: "half" } : {}) };
      const res = await fetch(url, init as RequestInit);
      return { res, watchdog };
    } catch (err) {
      watchdog.stop();
      throw bodyError ?? this.transportError(err, req.what);
    }
  }

  /** What we can send without being asked: Basic once the registry wanted it, or a live token for these scopes. */
  private heldAuthorization(url: string, scopeKey: string): Authorization | undefined {
    // Upload locations may point elsewhere; what we hold is for the registry's own origin only.
    if (!url.startsWith("/") && new URL(url).origin !== new URL(this.endpoint.apiBase).origin) return undefined;
    const basic = this.basicHeader();
    if (this.basic && basic) return { header: basic, credentialsSent: true, expiresAt: Infinity };
    const token = this.tokens.get(scopeKey);
    return token && token.expiresAt > Date.now() ? token : undefined;
  }

  private basicHeader(): string | undefined {
    const c = this.credentials;
    if (c?.username === undefined || c.password === undefined) return undefined;
    return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString("base64")}`;
  }

  /** Answers a 401's challenge: Bearer (token server) or Basic. */
  private async authorize(challenges: Challenge[], req: Exchange, scopeKey: string, previous: Authorization | undefined, detail: string): Promise<Authorization> {
    const refused = (why: string, credentialsSent: boolean) =>
      new RegistryAuthError({
        registry: this.endpoint.url,
        status: 401,
        request: req.what,
        credentialsSent,
        username: credentialsSent ? this.credentials?.username : undefined,
        detail: [detail, why].filter(Boolean).join("; "),
      });
    const bearer = challenges.find((c) => c.scheme === "bearer");
    if (bearer) {
      let pending = this.pendingTokens.get(scopeKey);
      if (!pending) {
        pending = this.fetchToken(bearer, req).finally(() => this.pendingTokens.delete(scopeKey));
        this.pendingTokens.set(scopeKey, pending);
      }
      const token = await pending;
      this.tokens.set(scopeKey, token);
      return token;
    }
    if (challenges.some((c) => c.scheme === "basic")) {
      const header = this.basicHeader();
      if (!header) throw refused("", false);
      // Basic credentials that were just refused will be refused again.
      if (previous?.header === header) throw refused("", true);
      this.basic = true;
      return { header, credentialsSent: true, expiresAt: Infinity };
    }
    const schemes = challenges.map((c) => c.scheme).join(", ");
    throw refused(schemes ? `it asks for ${schemes} authentication, which Strata does not support` : "without saying how to authenticate", false);
  }

  /**
   * Gets a token from the challenge's realm (distribution's token authentication): GET with Basic
   * credentials, or the OAuth2 refresh-token POST for an identity token from `docker login`.
   */
  private async fetchToken(challenge: Challenge, req: Exchange): Promise<Authorization> {
    const { realm, service, scope } = challenge.params;
    if (!realm || !/^https?:\/\//i.test(realm)) {
      throw new RegistryRequestError(this.endpoint.url, req.what, 401, `its Bearer challenge names no usable token realm (${realm ?? "none"})`);
    }
    // The challenge's scope says what the registry wants; distribution separates several with spaces.
    const scopes = scope ? scope.split(" ").filter(Boolean) : req.scopes;
    const credentials = this.credentials;
    const basic = this.basicHeader();
    const target = new URL(realm);
    let init: RequestInit;
    if (credentials?.identityToken) {
      const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: credentials.identityToken, client_id: OAUTH_CLIENT_ID });
      if (service) form.set("service", service);
      if (scopes.length) form.set("scope", scopes.join(" "));
      init = { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: form.toString() };
    } else {
      if (service) target.searchParams.set("service", service);
      for (const s of scopes) target.searchParams.append("scope", s);
      init = { method: "GET", headers: basic ? { Authorization: basic } : {} };
    }
    const credentialsSent = !!(credentials?.identityToken || basic);
    const what = `the request for a token (${scopes.join(" ") || "no scope"}) at ${target.origin}${target.pathname}`;

    let res: Response;
    try {
      res = await fetch(target, { ...init, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      throw this.transportError(err, what);
    }
    const watchdog = new Watchdog(this.timeoutMs);
    if (res.status === 401 || res.status === 403) {
      throw new RegistryAuthError({
        registry: this.endpoint.url,
        status: res.status,
        request: what,
        credentialsSent,
        username: credentialsSent ? credentials?.username : undefined,
        detail: await errorDetail(res, watchdog),
      });
    }
    if (res.status >= 500 || res.status === 429) throw new RegistryUnavailableError(this.endpoint.url, `the token server answered HTTP ${res.status} to ${what}`);
    if (!res.ok) throw new RegistryRequestError(this.endpoint.url, what, res.status, await errorDetail(res, watchdog));
    const answer = (await res.json().catch(() => null)) as { token?: string; access_token?: string; expires_in?: number } | null;
    watchdog.stop();
    const token = answer?.token || answer?.access_token;
    if (!token) throw new RegistryRequestError(this.endpoint.url, what, res.status, "the answer holds no token");
    // The token spec's default lifetime is 60 s; renew a little early so a token does not expire in flight.
    const lifetime = Number(answer?.expires_in) > 0 ? Number(answer?.expires_in) : 60;
    return { header: `Bearer ${token}`, credentialsSent, expiresAt: Date.now() + (lifetime - Math.min(10, lifetime / 10)) * 1000 };
  }

  // --- bodies and errors -----------------------------------------------------------------------

  private async readAll(res: Response, watchdog: Watchdog, what: string, limit = Infinity): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of (res.body ?? []) as unknown as AsyncIterable<Uint8Array>) {
        watchdog.touch();
        size += chunk.byteLength;
        if (size > limit) break;
        chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      }
    } catch (err) {
      throw this.transportError(err, what);
    } finally {
      watchdog.stop();
    }
    if (size > limit) throw new RegistryRequestError(this.endpoint.url, what, res.status, `the answer is larger than ${limit} bytes`);
    return Buffer.concat(chunks, size);
  }

  private verify(bytes: Buffer, expected: string, what: string, source: string) {
    assertDigest(expected, `digest (${source})`);
    const actual = digestOf(bytes, expected);
    if (actual !== expected) throw new DigestMismatchError({ registry: this.endpoint.url, what, expected, actual, source });
  }

  private async refusal(res: Response, watchdog: Watchdog, what: string): Promise<RegistryRequestError> {
    return new RegistryRequestError(this.endpoint.url, what, res.status, await errorDetail(res, watchdog));
  }

  /** Transport failures (refused, reset, timed out) as RegistryUnavailableError; our own typed errors pass through. */
  private transportError(err: unknown, what: string): Error {
    for (let e = err as { cause?: unknown } | undefined; e; e = e.cause as { cause?: unknown } | undefined) {
      if (e instanceof DomainError || e instanceof DigestMismatchError) return e;
    }
    if (this.signal?.aborted) return this.signal.reason instanceof Error ? this.signal.reason : new Error(`${what}: stopped (${String(this.signal.reason)})`);
    const e = err as (Error & { cause?: { code?: string; message?: string } }) | undefined;
    if (e?.name === "TimeoutError" || e?.name === "AbortError") {
      return new RegistryUnavailableError(this.endpoint.url, `${what}: no data for ${this.timeoutMs} ms`);
    }
    return new RegistryUnavailableError(this.endpoint.url, `${what}: ${e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err)}`);
  }
}

/** Drops a body we do not need, so the connection can be reused. */
async function discard(res: Response, watchdog: Watchdog): Promise<void> {
  await res.body?.cancel().catch(() => {});
  watchdog.stop();
}

/** The explanation of a refusal: a registry's `{errors:[{code,message}]}`, a token server's `details`, or the start of the text. */
async function errorDetail(res: Response, watchdog: Watchdog): Promise<string> {
  let text = "";
  try {
    text = await res.text();
  } catch {
    // The status alone will have to do.
  } finally {
    watchdog.stop();
  }
  try {
    const parsed = JSON.parse(text) as { errors?: { code?: string; message?: string }[]; details?: unknown; error_description?: unknown };
    if (Array.isArray(parsed.errors) && parsed.errors.length > 0) {
      return parsed.errors.map((e) => [e.code, e.message].filter(Boolean).join(": ")).join("; ");
    }
    const said = parsed.details ?? parsed.error_description;
    if (typeof said === "string") return said;
  } catch {
    // Not the registry's JSON error format.
  }
  return text.trim().slice(0, 300);
}
