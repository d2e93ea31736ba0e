// Typed domain errors. Verbs throw these; only the entry wrappers (withApi, job handlers) turn them into HTTP or job outcomes.

export type ErrorCode =
  | "bad_request"
  | "validation_failed"
  | "unauthenticated"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "rate_limited"
  | "payload_too_large"
  | "unavailable";

export class DomainError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Optional structured detail (e.g. which field failed), safe to show to the caller. */
  readonly details?: unknown;
  constructor(code: ErrorCode, status: number, message: string, details?: unknown) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.details = details;
  }
}

export class BadRequestError extends DomainError {
  constructor(message: string, details?: unknown) {
    super("bad_request", 400, message, details);
  }
}
export class ValidationError extends DomainError {
  constructor(message: string, details?: unknown) {
    super("validation_failed", 422, message, details);
  }
}
export class UnauthenticatedError extends DomainError {
  constructor(message = "Sign in or send a valid API token.") {
    super("unauthenticated", 401, message);
  }
}
export class ForbiddenError extends DomainError {
  constructor(message = "You do not have the right to do that.") {
    super("forbidden", 403, message);
  }
}
export class NotFoundError extends DomainError {
  constructor(message = "Not found.") {
    super("not_found", 404, message);
  }
}
export class ConflictError extends DomainError {
  constructor(message: string, details?: unknown) {
    super("conflict", 409, message, details);
  }
}
export class RateLimitedError extends DomainError {
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number) {
    super("rate_limited", 429, message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}
export class PayloadTooLargeError extends DomainError {
  constructor(message: string) {
    super("payload_too_large", 413, message);
  }
}
export class UnavailableError extends DomainError {
  constructor(message: string) {
    super("unavailable", 503, message);
  }
}

/** Turns a zod error into one readable sentence naming each field, plus the issue list. */
export function describeZodIssues(issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>): string {
  return issues
    .map((i) => (i.path.length ? `${i.path.reduce<string>((out, seg) => (typeof seg === "number" ? `${out}[${seg}]` : out ? `${out}.${String(seg)}` : String(seg)), "")}: ${i.message}` : i.message))
    .join("; ");
}
