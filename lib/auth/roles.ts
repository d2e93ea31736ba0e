// Roles and organisation scoping: the only place that decides who may see or do what.
import type { SQL } from "drizzle-orm";
import { eq } from "drizzle-orm";
import type { PgColumn } from "drizzle-orm/pg-core";
import type { Role } from "../db/schema";
import { ForbiddenError } from "../errors";
import type { Actor } from "./actor";

const RANK: Record<Role, number> = { customer: 1, admin: 2 };

export const isAdmin = (actor: Actor) => actor.user.role === "admin";

export function hasRole(actor: Actor, role: Role): boolean {
  return RANK[actor.user.role] >= RANK[role];
}

export function requireRole(actor: Actor, role: Role): void {
  if (!hasRole(actor, role)) throw new ForbiddenError(role === "admin" ? "This needs an administrator." : "You do not have the right to do that.");
}

export const requireAdmin = (actor: Actor) => requireRole(actor, "admin");

/**
 * The org filter for a query on a table with an org column: customers see their organisation only,
 * admins see every organisation (undefined = no filter, which drizzle's `and()` drops).
 */
export function orgScope(actor: Actor, orgColumn: PgColumn): SQL | undefined {
  return isAdmin(actor) ? undefined : eq(orgColumn, actor.org.id);
}

/** Whether the actor may read data of `orgId`. Callers answer 404, not 403, so ids of other organisations stay secret. */
export function canAccessOrg(actor: Actor, orgId: string): boolean {
  return isAdmin(actor) || actor.org.id === orgId;
}
