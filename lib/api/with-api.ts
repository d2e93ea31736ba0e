// The one wrapper for REST route handlers. Given a route declaration (lib/api/spec.ts) it resolves the actor
// (session or bearer token), checks role and token scope, parses params, query and body with the declared zod
// schemas, shapes the response with the declared response schema (dropping any field not declared) and maps
// typed errors to { error: { code, message } } with a fitting status.
import type { z } from "zod";
import { getDb, type Db } from "../db";
import type { Actor } from "../auth/actor";
import { requireRole } from "../auth/roles";
import { requiredScope, requireScope } from "../auth/scopes";
import { BadRequestError, NotFoundError, UnauthenticatedError, describeZodIssues } from "../errors";
import { parseInput } from "../validation";
import { errorReply, INTERNAL_ERROR } from "./error-body";
import { assertSameOrigin, readJson, resolveActor } from "./request";
import { isRawResponse, Reply, type RawResponse, type RouteSpec } from "./spec";

export { resolveActor } from "./request";

type RouteParams = Record<string, string | string[]>;
type Context = { params: Promise<RouteParams> };
export type RouteHandler = ((req: Request, context: Context) => Promise<Response>) & { spec: RouteSpec };

type Out<S> = [NonNullable<S>] extends [z.ZodType] ? z.output<NonNullable<S>> : undefined;
type ActorFor<R> = R extends "public" ? Actor | null : Actor;
type Result<R> = Response | Reply | ([R] extends [undefined] ? unknown : [NonNullable<R>] extends [z.ZodType] ? z.input<NonNullable<R>> : [NonNullable<R>] extends [RawResponse] ? Response : unknown);

interface SpecArgs<S extends RouteSpec> {
  req: Request;
  url: URL;
  db: Db;
  actor: ActorFor<S["role"]>;
  params: Out<S["params"]>;
  query: Out<S["query"]>;
  body: Out<S["body"]>;
}

export function errorResponse(err: unknown): Response {
  const reply = errorReply(err, "strata");
  if (!reply) console.error("[api] unexpected error:", err);
  const { status, headers, body } = reply ?? INTERNAL_ERROR;
  return Response.json(body, { status, headers });
}

function flatParams(raw: RouteParams): Record<string, string> {
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Array.isArray(v) ? v.join("/") : v]));
}

function parseParams(spec: RouteSpec, raw: Record<string, string>): unknown {
  if (!spec.params) return raw;
  const parsed = spec.params.safeParse(raw);
  if (!parsed.success) throw new NotFoundError(spec.notFound ?? "Not found.");
  return parsed.data;
}

function parseQuery(spec: RouteSpec, url: URL): unknown {
  if (!spec.query) return undefined;
  const raw: Record<string, string> = {};
  for (const [k, v] of url.searchParams) if (!(k in raw)) raw[k] = v;
  const parsed = spec.query.safeParse(raw);
  if (!parsed.success) throw new BadRequestError(`Bad query parameter: ${describeZodIssues(parsed.error.issues)}.`, { issues: parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })) });
  return parsed.data;
}

function shapeResponse(spec: RouteSpec, url: URL, result: unknown): Response {
  if (result instanceof Response) return result;
  const reply = result instanceof Reply ? result : new Reply(result);
  const status = reply.init.status ?? spec.status ?? 200;
  const headers = new Headers(reply.init.headers);
  if (status === 204 || reply.body === undefined) return new Response(null, { status: status === 200 ? 204 : status, headers });
  let body = reply.body;
  if (spec.response && !isRawResponse(spec.response)) {
    const parsed = spec.response.safeParse(body);
    if (!parsed.success) {
      console.error(`[api] the response of ${spec.method} ${spec.path} does not match its declaration: ${describeZodIssues(parsed.error.issues)}`);
      return Response.json(INTERNAL_ERROR.body, { status: 500 });
    }
    body = parsed.data;
  }
  if (spec.paginated) {
    const next = (body as { next?: string | null }).next;
    if (next) {
      const link = new URL(url);
      link.searchParams.set("cursor", next);
      headers.append("link", `<${link.pathname}${link.search}>; rel="next"`);
    }
  }
  return Response.json(body, { status, headers });
}

export function withApi<S extends RouteSpec>(spec: S, handler: (args: SpecArgs<S>) => Promise<Result<S["response"]>>): RouteHandler {
  const wrapped = async (req: Request, context: Context): Promise<Response> => {
    const started = Date.now();
    let status = 500;
    try {
      const db = getDb();
      const url = new URL(req.url);
      const actor = await resolveActor(req, db);
      if (spec.role !== "public") {
        if (!actor) throw new UnauthenticatedError();
        requireRole(actor, spec.role);
      }
      requireScope(actor, requiredScope(spec));
      const write = req.method !== "GET" && req.method !== "HEAD";
      if (write) assertSameOrigin(req, actor);
      const params = parseParams(spec, flatParams((await context?.params) ?? {}));
      const query = parseQuery(spec, url);
      let body: unknown = undefined;
      if (write && req.method !== "DELETE") {
        const raw = await readJson(req);
        body = spec.body ? parseInput(spec.body, raw) : raw;
      }
      const result = await handler({ req, url, db, actor, params, query, body } as never);
      const response = shapeResponse(spec, url, result);
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
  return Object.assign(wrapped, { spec });
}
