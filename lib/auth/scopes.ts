// Token scopes: what an API token may do. Sessions may do everything their role allows.
import type { Role } from "../db/schema";
import { ForbiddenError } from "../errors";
import type { Actor } from "./actor";

export const SCOPES = ["read", "write", "admin"] as const;
export type Scope = (typeof SCOPES)[number];

/** The scope an operation needs: admin routes need "admin", reads "read", everything else "write". */
export function requiredScope(spec: { method: string; role: string }): Scope {
  if (spec.role === "admin") return "admin";
  return spec.method === "GET" || spec.method === "HEAD" ? "read" : "write";
}

/** Every scope a role may hold: what a session of that role can do, and the most a token of it may get. */
export function scopesOfRole(role: Role): Scope[] {
  return role === "admin" ? ["read", "write", "admin"] : ["read", "write"];
}

/** Throws a 403 when a token lacks the scope (sessions pass: their scopes are all their role allows). */
export function requireScope(actor: Actor | null, scope: Scope): void {
  if (!actor || actor.via !== "token") return;
  if (!actor.scopes.includes(scope))
    throw new ForbiddenError(
      `This token lacks the ${scope} scope, which this operation needs. Create a token with the ${scope} scope under Settings → API tokens and use that one.`,
    );
}
