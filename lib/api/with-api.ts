// The one wrapper for REST route handlers: resolves the actor (session or bearer token), checks the role,
// parses JSON input with zod and maps typed errors to { error: { code, message } } with a fitting status.
import { getToken } from "next-auth/jwt";
import type { z } from "zod";
import { getDb, type Db } from "../db";
import type { Role } from "../db/schema";
import { loadActor, type Actor } from "../auth/actor";
import { authSecret, config } from "../config";
import { requireRole } from "../auth/roles";
import { authenticateToken } from "../auth/tokens";
import { BadRequestError, UnauthenticatedError } from "../errors";
import { parseInput } from "../validation";
import { errorReply, INTERNAL_ERROR } from "./error-body";

type RouteParams = Record<string, string | string[]>;

interface Options<B extends z.ZodType | undefined> {
  /** "public" needs no sign-in; otherwise the minimum role. */
  role: Role | "public";
  body?: B;
}

interface HandlerArgs<A, B> {
  req: Request;
  db: Db;
  actor: A;
  body: B;
  params: Record<string, string>;
}

const MAX_BODY_BYTES = 2 * 1024 * 1024;

export function errorResponse(err: unknown): Response {
  const reply = errorReply(err, "strata");
  if (!reply) console.error("[api] unexpected error:", err);
  const { status, headers, body } = reply ?? INTERNAL_ERROR;
  return Response.json(body, { status, headers });
}

async function readJson(req: Request): Promise<unknown> {
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

export function withApi<B extends z.ZodType | undefined = undefined, R extends Role | "public" = Role>(
  options: Options<B> & { role: R },
  handler: (args: HandlerArgs<R extends "public" ? Actor | null : Actor, B extends z.ZodType ? z.output<B> : unknown>) => Promise<Response | unknown>,
) {
  return async (req: Request, context: { params: Promise<RouteParams> }): Promise<Response> => {
    const started = Date.now();
    let status = 500;
    try {
      const db = getDb();
      const actor = await resolveActor(req, db);
      if (options.role !== "public") {
        if (!actor) throw new UnauthenticatedError();
        requireRole(actor, options.role);
      }
      let body: unknown = undefined;
      if (req.method !== "GET" && req.method !== "HEAD" && req.method !== "DELETE") {
        const raw = await readJson(req);
        body = options.body ? parseInput(options.body, raw) : raw;
      }
      const rawParams = (await context?.params) ?? {};
      const params = Object.fromEntries(Object.entries(rawParams).map(([k, v]) => [k, Array.isArray(v) ? v.join("/") : v]));
      const result = await handler({ req, db, actor: actor as never, body: body as never, params });
      const response = result instanceof Response ? result : Response.json(result);
      status = response.status;
      return response;
    } catch (err) {
      const response = errorResponse(err);
      status = response.status;
      return response;
    } finally {
      if (process.env.STRATA_LOG_REQUESTS !== "0") console.log(`[api] ${req.method} ${new URL(req.url).pathname} ${status} ${Date.now() - started}ms`);
    }
  };
}
