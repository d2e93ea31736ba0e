// Reading a request: who is asking (bearer token or session cookie), its JSON body, and the checks on both.
import { getToken } from "next-auth/jwt";
import { RequestCookies } from "next/dist/compiled/@edge-runtime/cookies";
import type { Db } from "../db";
import { loadActor, type Actor } from "../auth/actor";
import { authSecret, config } from "../config";
import { authenticateToken } from "../auth/tokens";
import { BadRequestError, ForbiddenError, PayloadTooLargeError, UnauthenticatedError } from "../errors";

export const MAX_BODY_BYTES = 2 * 1024 * 1024;

const tooLarge = () =>
  new PayloadTooLargeError(`The request body is larger than ${MAX_BODY_BYTES / 1024 / 1024} MiB, the most the API accepts. Send a smaller body.`);

/** The media type without parameters: `application/json; charset=utf-8` → `application/json`. */
function mediaType(contentType: string | null): string | null {
  if (contentType === null) return null;
  return contentType.split(";")[0].trim().toLowerCase();
}

/**
 * Reads the body as UTF-8 text, at most MAX_BODY_BYTES: a declared Content-Length above it is refused before a byte
 * is read, and a body without one (chunked) is counted while it streams in and abandoned at the limit.
 */
export async function readBodyText(req: Request): Promise<string> {
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > MAX_BODY_BYTES) throw tooLarge();
  if (!req.body) return "";
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > MAX_BODY_BYTES) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}

export async function readJson(req: Request): Promise<unknown> {
  const type = mediaType(req.headers.get("content-type"));
  const text = await readBodyText(req);
  if (!text.trim()) return {};
  // No Content-Type is tolerated for scripts (curl -d aside); a wrong one is refused rather than guessed at.
  if (type && type !== "application/json") throw new BadRequestError("Send the request body as JSON (Content-Type: application/json).");
  try {
    return JSON.parse(text);
  } catch {
    throw new BadRequestError("The request body is not valid JSON.");
  }
}

export async function resolveActor(req: Request, db: Db): Promise<Actor | null> {
  const authorization = req.headers.get("authorization");
  if (authorization) {
    // "token <value>" too: that is how luet's HTTP client sends a repository's auth token.
    const match = /^(?:Bearer|token)\s+(\S+)$/i.exec(authorization.trim());
    if (!match) throw new UnauthenticatedError("The Authorization header must be `Bearer <token>`.");
    const { userId, tokenId } = await authenticateToken(db, match[1]);
    return loadActor(db, userId, "token", tokenId);
  }
  // The session cookie is read from the request itself (not Next's request scope), so handlers run in tests too.
  // Next's own parser skips a cookie it cannot decode (a stray `%` set by another app on localhost) instead of throwing.
  const cookies = new RequestCookies(req.headers);
  if (cookies.size === 0) return null;
  const token = await getToken({ req: { cookies, headers: {} } as never, secret: authSecret(), secureCookie: config.publicUrl.startsWith("https://") });
  return token?.sub ? loadActor(db, token.sub, "session") : null;
}

function sameOrigin(req: Request): boolean {
  const origin = req.headers.get("origin");
  if (origin && origin !== "null") {
    let from: URL;
    try {
      from = new URL(origin);
    } catch {
      return false;
    }
    if (from.origin === new URL(config.publicUrl).origin) return true;
    // The address the browser used (plain HTTP on loopback, another host name in TLS_HOSTS).
    const host = req.headers.get("host");
    if (host && from.host === host.toLowerCase()) return true;
  }
  return req.headers.get("sec-fetch-site") === "same-origin";
}

/**
 * Cross-site request checks for writes made with a session cookie (bearer tokens are not sent by browsers on their
 * own, so token requests pass). A form on another site can send a cookie-carrying POST with a "simple" content type;
 * it cannot send `application/json` without a CORS preflight, nor a same-origin `Origin`.
 */
export function assertSameOrigin(req: Request, actor: Actor | null): void {
  if (actor?.via !== "session") return;
  const write = req.method !== "GET" && req.method !== "HEAD" && req.method !== "OPTIONS";
  if (!write) return;
  if (mediaType(req.headers.get("content-type")) !== "application/json") {
    throw new ForbiddenError("Requests signed in with the session cookie must send Content-Type: application/json, even with an empty body. Scripts should use an API token (Authorization: Bearer …).");
  }
  if (!sameOrigin(req)) {
    throw new ForbiddenError(`This request came from another site (Origin: ${req.headers.get("origin") ?? "none"}); the portal only accepts changes made from its own pages at ${config.publicUrl}. Scripts should use an API token.`);
  }
}
