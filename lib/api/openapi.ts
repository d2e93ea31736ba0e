// The OpenAPI 3.1 document, generated from the route declarations (lib/api/routes) and nothing else.
import { z } from "zod";
import { allRoutes } from "./routes";
import { ErrorBody, isRawResponse, type RouteSpec } from "./spec";

type JsonSchema = Record<string, unknown>;

const STANDARD_ERRORS: Record<number, string> = {
  401: "Not signed in, or the token is not valid",
  403: "Your role or the token's scopes do not allow this",
  413: "The request body is too large",
  429: "Too many requests; see Retry-After",
};

function schemaOf(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  const out = z.toJSONSchema(schema, { io, unrepresentable: "any", reused: "inline", target: "draft-2020-12" }) as JsonSchema;
  delete out.$schema;
  return out;
}

/** "GET /api/v1/flavours/{id}/builds" → "getFlavoursByIdBuilds". */
export function operationId(spec: Pick<RouteSpec, "method" | "path">): string {
  const words = spec.path
    .split("/")
    .filter((s) => s && s !== "api" && s !== "v1")
    .map((s) => (s.startsWith("{") ? `by-${s.slice(1, -1)}` : s))
    .flatMap((s) => s.split(/[^A-Za-z0-9]+/))
    .filter(Boolean);
  return spec.method.toLowerCase() + words.map((w) => w[0].toUpperCase() + w.slice(1)).join("");
}

function parameters(spec: RouteSpec): unknown[] {
  const out: unknown[] = [];
  for (const [where, schema] of [
    ["path", spec.params],
    ["query", spec.query],
  ] as const) {
    if (!schema) continue;
    const json = schemaOf(schema, "input");
    const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
    const required = new Set((json.required ?? []) as string[]);
    for (const [name, property] of Object.entries(properties)) {
      const { description, ...rest } = property;
      out.push({ name, in: where, required: where === "path" || required.has(name), schema: rest, ...(description ? { description } : {}) });
    }
  }
  return out;
}

function operation(spec: RouteSpec): Record<string, unknown> {
  const errorRef = { $ref: "#/components/schemas/Error" };
  const responses: Record<string, unknown> = {};
  const success = String(spec.status ?? 200);
  if (spec.status === 204) responses[success] = { description: spec.summary };
  else if (spec.response && isRawResponse(spec.response)) responses[success] = { description: spec.response.description, content: { [spec.response.contentType]: {} } };
  else if (spec.response) {
    responses[success] = {
      description: spec.summary,
      content: { "application/json": { schema: schemaOf(spec.response, "output") } },
      ...(spec.paginated ? { headers: { Link: { description: 'The next page: `<…?cursor=…>; rel="next"`', schema: { type: "string" } } } } : {}),
    };
  } else responses[success] = { description: spec.summary };
  const errors: Record<number, string> = { ...spec.errors };
  if (spec.role !== "public") errors[401] ??= STANDARD_ERRORS[401];
  if (spec.role !== "public") errors[403] ??= STANDARD_ERRORS[403];
  if (spec.params) errors[404] ??= spec.notFound ?? "Not found";
  if (spec.query) errors[400] ??= "A query parameter does not parse";
  if (spec.body) {
    errors[400] ??= "The body is not JSON";
    errors[413] ??= STANDARD_ERRORS[413];
    errors[422] ??= "Invalid input; `details.issues` lists each field";
  }
  for (const [status, description] of Object.entries(errors)) responses[status] = { description, content: { "application/json": { schema: errorRef } } };

  return {
    operationId: operationId(spec),
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    tags: spec.tags,
    ...(spec.role === "public" ? { security: [] } : {}),
    ...(parameters(spec).length ? { parameters: parameters(spec) } : {}),
    ...(spec.body ? { requestBody: { required: true, content: { "application/json": { schema: schemaOf(spec.body, "input") } } } } : {}),
    responses,
  };
}

let cached: Record<string, unknown> | null = null;

export function openApiDocument(routes: RouteSpec[] = allRoutes): Record<string, unknown> {
  if (cached && routes === allRoutes) return cached;
  const paths: Record<string, Record<string, unknown>> = {};
  for (const spec of [...routes].sort((a, b) => a.path.localeCompare(b.path))) {
    const ops = (paths[spec.path] ??= {});
    const method = spec.method.toLowerCase();
    if (ops[method]) throw new Error(`Two declarations for ${spec.method} ${spec.path}`);
    ops[method] = operation(spec);
  }
  const doc = {
    openapi: "3.1.0",
    info: {
      title: "Strata API",
      version: "1",
      description:
        "Build immutable Linux derivatives: flavours, builds, repositories, channels, devices and disk images. " +
        "Authenticate with `Authorization: Bearer <token>` (create one under Settings → API tokens) or the portal's session cookie. " +
        "Errors are `{ error: { code, message, details? } }`. Lists are paginated with `?cursor=`; follow `next` (or the `Link` header).",
    },
    servers: [{ url: "/" }],
    security: [{ bearer: [] }, { session: [] }],
    tags: [...new Set(routes.flatMap((r) => r.tags))].sort().map((name) => ({ name })),
    paths,
    components: {
      schemas: { Error: schemaOf(ErrorBody, "output") },
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "A personal access token (strata_pat_…); its scopes (read, write, admin) limit what it may do" },
        session: { type: "apiKey", in: "cookie", name: "next-auth.session-token", description: "The portal's session (writes need a same-origin request with Content-Type: application/json)" },
      },
    },
  };
  if (routes === allRoutes) cached = doc;
  return doc;
}
