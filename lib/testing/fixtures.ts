// Helpers for integration tests: the run's database and users made with unique data, through the same verbs the app uses.
import crypto from "node:crypto";
import { eq, inArray } from "drizzle-orm";
import { inject } from "vitest";
import { createDb, type Db } from "../db";
import { orgs, users } from "../db/schema";
import { loadActor, type Actor } from "../auth/actor";
import { signUp } from "../auth/sign-up";

let shared: { db: Db; end: () => Promise<void> } | undefined;

export function testDb(): Db {
  if (!shared) {
    const { db, pool } = createDb(inject("databaseUrl"), { max: 5 });
    shared = { db, end: () => pool.end() };
  }
  return shared.db;
}

export async function closeTestDb() {
  await shared?.end();
  shared = undefined;
}

export const uniqueEmail = (tag = "user") => `${tag}-${crypto.randomUUID().slice(0, 8)}@example.test`;
export const STRONG_PASSWORD = "Granite-Falcon-42!";

const madeOrgs: string[] = [];

/**
 * Deletes the organisations this test file made with makeActor, and everything of theirs. For files that insert
 * stand-in rows (builds without images) that other suites' whole-database work, such as the repository backfill,
 * must not find.
 */
export async function removeTestOrgs(db: Db) {
  if (madeOrgs.length) await db.delete(orgs).where(inArray(orgs.id, madeOrgs.splice(0)));
}

/** A new organisation with one customer (or admin) and the Actor for them. */
export async function makeActor(db: Db, opts: { role?: "customer" | "admin"; org?: string } = {}): Promise<Actor> {
  const email = uniqueEmail(opts.role ?? "customer");
  const { userId } = await signUp(db, { email, name: "Test User", organisation: opts.org ?? `Org ${email.slice(0, 14)}`, password: STRONG_PASSWORD });
  if (opts.role === "admin") await db.update(users).set({ role: "admin" }).where(eq(users.id, userId));
  const actor = await loadActor(db, userId, "session");
  madeOrgs.push(actor.org.id);
  return actor;
}
