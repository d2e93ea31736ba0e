// Organisations as their members and admins see them.
import { and, asc, count, eq } from "drizzle-orm";
import { z } from "zod";
import type { DbOrTx } from "../db";
import { orgs, users } from "../db/schema";
import type { Actor } from "../auth/actor";
import { orgScope } from "../auth/roles";
import { NotFoundError } from "../errors";

export async function listOrgs(db: DbOrTx, actor: Actor) {
  return db
    .select({ id: orgs.id, name: orgs.name, slug: orgs.slug, createdAt: orgs.createdAt, members: count(users.id) })
    .from(orgs)
    .leftJoin(users, eq(users.orgId, orgs.id))
    .where(orgScope(actor, orgs.id))
    .groupBy(orgs.id)
    .orderBy(asc(orgs.name));
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
