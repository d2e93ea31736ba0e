// Organisations as their members and admins see them.
import { and, asc, eq, gt, ilike, or, sql } from "drizzle-orm";
import { z } from "zod";
import type { DbOrTx } from "../db";
import { orgs, users } from "../db/schema";
import type { Actor } from "../auth/actor";
import { orgScope } from "../auth/roles";
import { NotFoundError } from "../errors";
import { containsPattern, decodeCursor, pageLimit, toPage } from "../api/cursor";

export interface ListOrgsOptions {
  /** Part of the name or slug, any case. */
  q?: string;
  cursor?: string;
  limit?: number;
}

/**
 * Organisations in slug order (their names, lower-case: unique, short and indexed, so a cursor stays small whatever the
 * name), a page at a time: a customer sees their own, an admin every one, and that list grows with every customer.
 * `q` finds an organisation by part of its name or slug.
 */
export async function listOrgs(db: DbOrTx, actor: Actor, opts: ListOrgsOptions = {}) {
  const limit = pageLimit(opts.limit);
  const after = decodeCursor("orgs", opts.cursor, z.tuple([z.string().regex(/^[a-z0-9-]{1,64}$/)]));
  const q = opts.q?.trim();
  const rows = await db
    .select({
      id: orgs.id,
      name: orgs.name,
      slug: orgs.slug,
      createdAt: orgs.createdAt,
      // Counted for the page's organisations only (users_org_idx), not joined and grouped over all of them.
      // Spelled out: drizzle leaves columns unqualified in a one-table select, and a bare "id" here would be the user's.
      members: sql<number>`(select count(*)::int from users where users.org_id = orgs.id)`,
    })
    .from(orgs)
    .where(
      and(
        orgScope(actor, orgs.id),
        q ? or(ilike(orgs.name, containsPattern(q)), ilike(orgs.slug, containsPattern(q))) : undefined,
        after ? gt(orgs.slug, after[0]) : undefined,
      ),
    )
    // The unique index on slug serves the order and the cursor.
    .orderBy(asc(orgs.slug))
    .limit(limit + 1);
  const { items, next } = toPage(rows, limit, "orgs", (r) => [r.slug]);
  return { orgs: items, next };
}

/** One organisation with its members; another organisation's id answers 404 for a customer, as if it did not exist. */
export async function getOrg(db: DbOrTx, actor: Actor, id: string) {
  if (!z.uuid().safeParse(id).success) throw new NotFoundError("No such organisation.");
  const [org] = await db
    .select({ id: orgs.id, name: orgs.name, slug: orgs.slug, createdAt: orgs.createdAt })
    .from(orgs)
    .where(and(eq(orgs.id, id), orgScope(actor, orgs.id)));
  if (!org) throw new NotFoundError("No such organisation.");
  const members = await db
    .select({ id: users.id, email: users.email, name: users.name, role: users.role, createdAt: users.createdAt })
    .from(users)
    .where(eq(users.orgId, id))
    .orderBy(asc(users.createdAt));
  return { ...org, members };
}
