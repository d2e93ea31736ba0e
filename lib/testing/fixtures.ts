// Helpers for integration tests: the run's database and users made with unique data, through the same verbs the app uses.
import crypto from "node:crypto";
import { eq, inArray } from "drizzle-orm";
import { inject } from "vitest";
import { createDb, type Db } from "../db";
import { builds, orgs, users, type BuildStatus } from "../db/schema";
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

let standInBuilds = 0;
/**
 * Stands in for a build the builder tests cover (lib/builder/*.int.test.ts): the row a finished build leaves, with
 * its image pushed to the registry (a succeeded one). No builder or registry runs; the image does not exist.
 */
export async function insertStandInBuild(db: Db, actor: Actor, flavour: { id: string; imageRepository: string; latest: { id: string } }, status: BuildStatus = "succeeded") {
  const version = `r1.${++standInBuilds}`;
  const succeeded = status === "succeeded";
  const [build] = await db
    .insert(builds)
    .values({
      orgId: actor.org.id,
      flavourId: flavour.id,
      revisionId: flavour.latest.id,
      revisionNumber: 1,
      version,
      status,
      totalPackages: 0,
      imageRef: succeeded ? `127.0.0.1:5000/${flavour.imageRepository}:${version}` : null,
      imageDigest: succeeded ? `sha256:${crypto.randomBytes(32).toString("hex")}` : null,
      imageSize: succeeded ? 400_000_000 + standInBuilds : null,
      error: status === "failed" ? "system/kernel exited with 2" : null,
      finishedAt: new Date(),
    })
    .returning();
  return build;
}

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
