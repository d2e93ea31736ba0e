// The device API (/api/device/v1) as a plain node:http handler: devices poll it, so it stays off Next's router and
// session machinery. Device rows and channel states are cached, documents per device until their inputs change, and
// "last seen" is written in batches. With a change feed (LISTEN/NOTIFY) the caches hold rows for minutes and drop
// them the moment a verb changes one; without it (or while it is down) they hold them for STRATA_DEVICE_CACHE_MS
// (2 s), the longest a portal change then takes to reach devices.
import fs from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { eq, sql } from "drizzle-orm";
import type { Db } from "../db";
import { devices } from "../db/schema";
import { BadRequestError, DomainError, ForbiddenError, NotFoundError, RateLimitedError, UnauthenticatedError } from "../errors";
import { channelDocument, DOCUMENT_WINDOW_MS, type ChannelState, type DeviceState } from "../channels/document";
import { signingKey, type SigningKey } from "../channels/signing";
import { loadChannelStates } from "../channels/state";
import { hashSecret } from "./registration-tokens";
import { DEVICE_SECRET_PREFIX, registerDevice } from "./register";
import { reportStatus } from "./report-status";
import { deviceRateLimits, RateLimiter, type RateLimit } from "./rate-limit";
import { errorReply, INTERNAL_ERROR } from "../api/error-body";
import { listenForChanges } from "./change-feed";

export const DEVICE_API_PREFIX = "/api/device/v1/";
const MAX_BODY_BYTES = 16 * 1024;

export interface DeviceApiOptions {
  db: Db;
  key?: SigningKey;
  now?: () => number;
  /** How long a device's row and a channel's state are reused without a change feed. */
  cacheMs?: number;
  /** Listen for device and channel changes on this database (the web process passes its DATABASE_URL). */
  changeFeed?: { databaseUrl: string; log?: (msg: string) => void };
  /** How long rows are reused while the change feed is up (a safety net; changes drop them at once). */
  feedCacheMs?: number;
  limits?: { perDevice: RateLimit; perAddress: RateLimit };
  /** The agent bundle served at /agent.mjs, when there is one. */
  agentBundle?: () => Promise<string | null>;
  /** How often "last seen" is written. */
  flushMs?: number;
}

interface CachedDocument {
  // What the document was made from: a change of any of them makes a new one.
  channelSequence: number;
  deviceSequence: number;
  pinned: string | null;
  window: number;
  signer: SigningKey;
  etag: string;
  text: string;
  /** Response headers as Node's flat [name, value, …] list. */
  notModified: string[];
  ok: string[];
}

interface CachedChannel {
  state: Promise<ChannelState | undefined>;
  /** Set once `state` resolved: what the promise-free path reads. */
  value?: ChannelState;
  at: number;
}

interface CachedDevice extends DeviceState {
  orgId: string;
  revoked: boolean;
  at: number;
}

export interface DeviceApi {
  /** Handles the request when its path is under /api/device/v1/ (returns true), else leaves it (false). */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** Writes pending "last seen" times now. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

function cacheMsFromEnv(): number {
  const raw = process.env.STRATA_DEVICE_CACHE_MS;
  const n = raw ? Number(raw) : 2000;
  if (!Number.isInteger(n) || n < 0) throw new Error(`STRATA_DEVICE_CACHE_MS must be a whole number of milliseconds, not "${raw}".`);
  return n;
}

export function createDeviceApi(options: DeviceApiOptions): DeviceApi {
  const { db } = options;
  const now = options.now ?? Date.now;
  const key = () => options.key ?? signingKey();
  const cacheMs = options.cacheMs ?? cacheMsFromEnv();
  const limits = options.limits ?? deviceRateLimits();
  const perDevice = new RateLimiter(limits.perDevice, now);
  const perAddress = new RateLimiter(limits.perAddress, now);
  const deviceCache = new Map<string, CachedDevice>();
  const channelCache = new Map<string, CachedChannel>();
  const documents = new Map<string, CachedDocument>();
  const seen = new Map<string, string>();
  const hashById = new Map<string, string>();
  // Bumped by every change: a read that started before a change must not be cached after it.
  let epoch = 0;
  const feed = options.changeFeed
    ? listenForChanges(
        options.changeFeed.databaseUrl,
        (change) => {
          epoch++;
          if (change.kind === "all") {
            deviceCache.clear();
            hashById.clear();
            channelCache.clear();
          } else if (change.kind === "device") {
            const hash = hashById.get(change.id);
            if (hash) deviceCache.delete(hash);
          } else {
            channelCache.delete(change.id);
          }
        },
        options.changeFeed.log,
      )
    : null;
  const feedCacheMs = options.feedCacheMs ?? 300_000;
  const ttl = () => (feed?.connected ? feedCacheMs : cacheMs);

  async function deviceBySecret(secret: string): Promise<CachedDevice | null> {
    const hash = hashSecret(secret);
    const hit = deviceCache.get(hash);
    if (hit && now() - hit.at < ttl()) return hit;
    const readEpoch = epoch;
    const [row] = await db
      .select({ id: devices.id, orgId: devices.orgId, channelId: devices.channelId, pinnedReference: devices.pinnedReference, sequence: devices.sequence, revokedAt: devices.revokedAt })
      .from(devices)
      .where(eq(devices.secretHash, hash));
    if (!row) {
      deviceCache.delete(hash);
      return null;
    }
    const device: CachedDevice = { id: row.id, orgId: row.orgId, channelId: row.channelId, pinnedReference: row.pinnedReference, sequence: Number(row.sequence), revoked: row.revokedAt !== null, at: now() };
    if (readEpoch === epoch) {
      if (deviceCache.size >= 200_000) {
        deviceCache.clear();
        hashById.clear();
      }
      deviceCache.set(hash, device);
      hashById.set(device.id, hash);
    }
    return device;
  }

  function channelState(id: string): Promise<ChannelState | undefined> {
    const hit = channelCache.get(id);
    if (hit && now() - hit.at < ttl()) return hit.state;
    // One read however many devices of the channel ask at once.
    const entry: CachedChannel = { state: loadChannelStates(db, [id]).then((states) => states.get(id)), at: now() };
    entry.state.then(
      (value) => (entry.value = value),
      () => channelCache.delete(id),
    );
    channelCache.set(id, entry);
    return entry.state;
  }

  const secretOf = (req: IncomingMessage) => {
    const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization?.trim() ?? "");
    return match && match[1].startsWith(DEVICE_SECRET_PREFIX) ? match[1] : null;
  };

  /** Checks a device as found (or not) for its secret; throws what the device is told. */
  function admit(req: IncomingMessage, device: CachedDevice | null): CachedDevice {
    if (!device) throw new UnauthenticatedError("Unknown device secret; register the device again.");
    if (device.revoked) throw new UnauthenticatedError("This device was revoked; register it again with a new registration token.");
    const claimed = req.headers["x-strata-device"];
    if (typeof claimed === "string" && claimed !== device.id) throw new ForbiddenError("This secret belongs to another device than X-Strata-Device names.");
    const wait = perDevice.take(device.id);
    if (wait) throw new RateLimitedError(`This device asks too often; try again in ${wait} s.`, wait);
    seen.set(device.id, clientAddress(req));
    return device;
  }

  async function authenticate(req: IncomingMessage): Promise<CachedDevice> {
    const secret = secretOf(req);
    if (!secret) throw new UnauthenticatedError("Send the device secret as `Authorization: Bearer strata_dev_…` (from POST /api/device/v1/register).");
    return admit(req, await deviceBySecret(secret));
  }

  /**
   * GET /channel when the device and its channel are cached, without a promise: most polls. Next's
   * AsyncLocalStorage turns on promise hooks for the whole process, so every promise on this path has a price.
   * False: the slow path answers.
   */
  function channelFromCache(req: IncomingMessage, res: ServerResponse): boolean {
    const secret = secretOf(req);
    if (!secret) return false;
    const device = deviceCache.get(hashSecret(secret));
    if (!device || now() - device.at >= ttl()) return false;
    const channel = channelCache.get(device.channelId);
    if (!channel?.value || now() - channel.at >= ttl()) return false;
    let admitted: CachedDevice;
    try {
      admitted = admit(req, device);
    } catch (err) {
      sendError(res, err);
      return true;
    }
    sendDocument(req, res, documentFor(admitted, channel.value));
    return true;
  }

  /** The device's signed document, with its response headers built once: a poll then only looks them up. */
  function documentFor(device: CachedDevice, state: ChannelState): CachedDocument {
    const signer = key();
    const window = Math.floor(now() / DOCUMENT_WINDOW_MS);
    const hit = documents.get(device.id);
    // Compared field by field: this runs on every poll, and a joined key string would be garbage each time.
    if (hit && hit.channelSequence === state.sequence && hit.deviceSequence === device.sequence && hit.pinned === device.pinnedReference && hit.window === window && hit.signer === signer) return hit;
    const doc = channelDocument(state, device, now(), signer);
    const common = ["etag", doc.etag, "cache-control", "private, no-cache", "x-strata-signature", doc.signature, "x-strata-sequence", String(doc.sequence)];
    const cached: CachedDocument = {
      channelSequence: state.sequence,
      deviceSequence: device.sequence,
      pinned: device.pinnedReference,
      window,
      signer,
      etag: doc.etag,
      // A string, not the Buffer: Node writes headers and a string body as one write, a Buffer body as two (writev),
      // which cost a fifth of a poll's time in the bench.
      text: doc.body.toString("utf8"),
      notModified: common,
      ok: [...common, "content-type", "application/json", "content-length", String(doc.body.length)],
    };
    if (documents.size >= 200_000) documents.clear();
    documents.set(device.id, cached);
    return cached;
  }

  async function getChannel(req: IncomingMessage, res: ServerResponse) {
    const device = await authenticate(req);
    const state = await channelState(device.channelId);
    if (!state) throw new NotFoundError("The device's channel no longer exists.");
    sendDocument(req, res, documentFor(device, state));
  }

  function sendDocument(req: IncomingMessage, res: ServerResponse, doc: CachedDocument) {
    if (req.headers["if-none-match"] === doc.etag) res.writeHead(304, doc.notModified).end();
    else res.writeHead(200, doc.ok).end(doc.text);
  }

  async function route(req: IncomingMessage, res: ServerResponse, path: string) {
    const method = req.method ?? "GET";
    const allow = (methods: string[]) => {
      if (!methods.includes(method)) throw new MethodNotAllowed(methods);
    };
    switch (path) {
      case "channel":
        allow(["GET"]);
        return getChannel(req, res);
      case "keys":
        allow(["GET"]);
        return send(res, 200, key().publicKeyPem, { "content-type": "application/x-pem-file", "cache-control": "public, max-age=300" });
      case "register": {
        allow(["POST"]);
        const body = await readJson(req);
        const registered = await registerDevice(db, body, clientAddress(req), key().publicKeyPem);
        return sendJson(res, 201, registered);
      }
      case "status": {
        allow(["POST"]);
        const device = await authenticate(req);
        const body = await readJson(req);
        const { halted } = await reportStatus(db, device, body);
        // The halt changed what this channel's devices get: read it again now rather than after the cache time.
        if (halted) channelCache.delete(device.channelId);
        res.writeHead(204).end();
        return;
      }
      case "agent.mjs": {
        allow(["GET", "HEAD"]);
        const file = (await options.agentBundle?.()) ?? null;
        if (!file) throw new NotFoundError("The agent bundle is not built on this server.");
        const bytes = await fs.promises.readFile(file);
        res.writeHead(200, { "content-type": "text/javascript; charset=utf-8", "content-length": bytes.length, "content-disposition": 'attachment; filename="strata-agent.mjs"', "cache-control": "no-cache" });
        res.end(method === "HEAD" ? undefined : bytes);
        return;
      }
      default:
        throw new NotFoundError(`No device endpoint ${DEVICE_API_PREFIX}${path}; there are register, channel, status, keys and agent.mjs.`);
    }
  }

  const flushTimer = setInterval(() => void flush().catch((err) => console.error("[device-api] writing last-seen times failed:", err.message)), options.flushMs ?? 5000);
  flushTimer.unref();

  async function flush() {
    if (seen.size === 0) return;
    const all = [...seen];
    seen.clear();
    // In slices, so that encoding a fleet's worth of ids never holds up polls for long.
    for (let i = 0; i < all.length; i += 2000) {
      const batch = all.slice(i, i + 2000);
      await db.execute(sql`
        update devices set last_seen_at = now(), last_address = v.address
        from unnest(${sql.param(batch.map(([id]) => id))}::uuid[], ${sql.param(batch.map(([, address]) => address))}::text[]) as v(id, address)
        where devices.id = v.id`);
    }
  }

  return {
    handle(req, res) {
      const url = req.url ?? "/";
      if (!url.startsWith(DEVICE_API_PREFIX)) return false;
      const path = url.slice(DEVICE_API_PREFIX.length).split("?")[0];
      const wait = perAddress.take(clientAddress(req));
      if (wait) sendError(res, new RateLimitedError(`Too many requests from this address; try again in ${wait} s.`, wait));
      else if (!(path === "channel" && req.method === "GET" && channelFromCache(req, res))) route(req, res, path).catch((err) => sendError(res, err));
      return true;
    },
    flush,
    async close() {
      clearInterval(flushTimer);
      await feed?.close();
      await flush();
    },
  };
}

class MethodNotAllowed extends DomainError {
  constructor(readonly allowed: string[]) {
    super("bad_request", 405, `Use ${allowed.join(" or ")} here.`);
  }
}

class PayloadTooLarge extends DomainError {
  constructor() {
    super("bad_request", 413, `The request body is larger than ${MAX_BODY_BYTES / 1024} KiB.`);
  }
}

/** The web server sets x-forwarded-for to the socket's address unless TRUST_PROXY: one place decides. */
function clientAddress(req: IncomingMessage): string {
  const forwarded = req.headers["x-forwarded-for"];
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(",")[0]?.trim();
  return first || req.socket.remoteAddress || "unknown";
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const type = req.headers["content-type"] ?? "";
  if (Number(req.headers["content-length"] ?? 0) > MAX_BODY_BYTES) {
    req.resume();
    throw new PayloadTooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) {
      req.resume();
      throw new PayloadTooLarge();
    }
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (!text.trim()) return {};
  if (type && !type.includes("json")) throw new BadRequestError("Send the request body as JSON (Content-Type: application/json).");
  try {
    return JSON.parse(text);
  } catch {
    throw new BadRequestError("The request body is not valid JSON.");
  }
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string>) {
  res.writeHead(status, { ...headers, "content-length": Buffer.byteLength(body) }).end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}) {
  send(res, status, JSON.stringify(value), { "content-type": "application/json", "cache-control": "no-store", ...headers });
}

function sendError(res: ServerResponse, err: unknown) {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const reply = errorReply(err, "strata-device");
  if (!reply) console.error("[device-api] unexpected error:", err);
  const { status, body } = reply ?? INTERNAL_ERROR;
  const headers = { ...(reply ?? INTERNAL_ERROR).headers };
  if (err instanceof MethodNotAllowed) headers.allow = err.allowed.join(", ");
  sendJson(res, status, body, headers);
}
