// What a typed domain error becomes on the wire, for both HTTP entries (the REST wrapper and the device API):
// `{ error: { code, message, details? } }`, its status and the headers that go with it.
import { DomainError, RateLimitedError, UnauthenticatedError } from "../errors";

export interface ErrorReply {
  status: number;
  headers: Record<string, string>;
  body: { error: { code: string; message: string; details?: unknown } };
}

/** Shown for anything that is not a DomainError (after logging it): never a stack or an internal message. */
export const INTERNAL_ERROR: ErrorReply = {
  status: 500,
  headers: {},
  body: { error: { code: "internal", message: "Something went wrong on our side; it has been logged." } },
};

/** The reply for a DomainError; null for anything else (the caller logs it and answers INTERNAL_ERROR). */
export function errorReply(err: unknown, realm: string): ErrorReply | null {
  if (!(err instanceof DomainError)) return null;
  const headers: Record<string, string> = {};
  if (err instanceof RateLimitedError) headers["retry-after"] = String(err.retryAfterSeconds);
  if (err instanceof UnauthenticatedError) headers["www-authenticate"] = `Bearer realm="${realm}"`;
  const body: ErrorReply["body"] = { error: { code: err.code, message: err.message } };
  if (err.details !== undefined) body.error.details = err.details;
  return { status: err.status, headers, body };
}
