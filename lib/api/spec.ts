// Route declarations: each API operation states its method, path, role, params, query, body and response once,
// in zod. `withApi` parses requests and shapes responses with them, and the OpenAPI document is generated from
// them (lib/api/openapi.ts), so the document cannot drift from what the handlers do.
import { z } from "zod";
import type { Role } from "../db/schema";

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** A response that is not JSON (a file, a stream): its media type and what it is. */
export interface RawResponse {
  contentType: string;
  description: string;
}

export interface RouteSpec<
  P extends z.ZodType = z.ZodType,
  Q extends z.ZodType = z.ZodType,
  B extends z.ZodType = z.ZodType,
  R extends z.ZodType | RawResponse = z.ZodType | RawResponse,
  Ro extends Role | "public" = Role | "public",
> {
  method: Method;
  /** The full path with `{param}` placeholders, as in the document: "/api/v1/flavours/{id}". */
  path: string;
  summary: string;
  description?: string;
  tags: string[];
  /** "public" needs no sign-in; otherwise the minimum role. */
  role: Ro;
  /** Path parameters; a value that does not parse is a 404 with `notFound` as the message. */
  params?: P;
  notFound?: string;
  /** Query parameters (strings in, parsed values out); a value that does not parse is a 400 naming it. */
  query?: Q;
  /** The JSON body; a body that does not parse is a 422 listing each field. */
  body?: B;
  /** The JSON response (unknown keys are dropped, so internal fields never leak) or a raw media type. */
  response?: R;
  /** The success status (200 unless stated). */
  status?: number;
  /** The error statuses this operation answers, with what they mean (401/403/5xx are implied). */
  errors?: Record<number, string>;
  /** Cursor pagination: the response carries `next`, and a `Link: <…>; rel="next"` header. */
  paginated?: boolean;
}

/** Declares one operation. The generic parameters keep the exact schemas, so handlers get typed input. */
export function route<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, R extends z.ZodType | RawResponse, Ro extends Role | "public">(
  spec: RouteSpec<P, Q, B, R, Ro>,
): RouteSpec<P, Q, B, R, Ro> {
  return spec;
}

// Reusable pieces.

/** A uuid path parameter. */
export const uuid = z.uuid();
export const idParams = z.object({ id: uuid });

/**
 * A timestamp in a response: Date objects from the database become ISO 8601 strings; strings are normalised.
 * The document shows it as `string` with `format: date-time`.
 */
export const timestamp = z.preprocess(
  (v) => (v instanceof Date ? v.toISOString() : typeof v === "string" && !Number.isNaN(Date.parse(v)) ? new Date(v).toISOString() : v),
  z.iso.datetime({ offset: true }),
);

/** An optional query flag: "true"/"false" (also "1"/"0"). */
export const queryFlag = z
  .enum(["true", "false", "1", "0"])
  .optional()
  .transform((v) => v === "true" || v === "1");

/** A positive whole number in a path or query. */
export const positiveInt = z.coerce.number().int().min(1).max(2_147_483_647);

/** Cursor pagination query: `?cursor=<opaque>&limit=<1..100>`. */
export const pageQuery = z.object({
  cursor: z.string().max(200).optional().describe("Opaque cursor from the previous page's `next`"),
  limit: z.coerce.number().int().min(1).max(100).default(50).describe("Items per page (1–100, default 50)"),
});

/** A page of items: `next` is the cursor of the following page, null on the last one. */
export const page = <K extends string, T extends z.ZodType>(key: K, item: T) =>
  z.object({ [key]: z.array(item), next: z.string().nullable().describe("Cursor of the next page; null on the last") } as { [k in K]: z.ZodArray<T> } & {
    next: z.ZodNullable<z.ZodString>;
  });

/** The error body every operation answers with on failure. */
export const ErrorBody = z.object({
    error: z.object({
      code: z.string().describe("A stable code: bad_request, validation, unauthenticated, forbidden, not_found, conflict, rate_limited, …"),
      message: z.string().describe("What went wrong, written for people"),
      details: z.unknown().optional(),
    }),
  });

/** A reply with a status and headers other than the declared ones (the body is still shaped by the response schema). */
export class Reply<T = unknown> {
  constructor(
    readonly body: T,
    readonly init: { status?: number; headers?: Record<string, string> } = {},
  ) {}
}

export const isRawResponse = (r: unknown): r is RawResponse => typeof r === "object" && r !== null && "contentType" in r && !(r instanceof z.ZodType);
