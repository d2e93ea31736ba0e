// The platform administrator: created at start with a password from STRATA_ADMIN_PASSWORD or one generated once into .data/.
import crypto from "node:crypto";
import path from "node:path";
import { eq } from "drizzle-orm";
import type { Db } from "../db";
import { orgs, users } from "../db/schema";
import { loadOrCreateSecret } from "../config";
import { hashPassword, verifyPassword } from "./password";

export const OPERATORS_ORG_SLUG = "strata-operators";

export function adminPassword(dataDir: string): string {
  return (
    process.env.STRATA_ADMIN_PASSWORD ||
    loadOrCreateSecret(path.join(dataDir, "admin-password"), () => crypto.randomBytes(12).toString("base64url"))
  );
}

/** Thrown at start-up when the configured admin e-mail belongs to someone who is not the admin. */
export class AdminEmailTakenError extends Error {}

/**
 * Creates the platform administrator, or keeps the existing one and follows a changed STRATA_ADMIN_PASSWORD. A user
 * with that e-mail who is not an admin (someone who signed up with it first) is never promoted: start-up stops and
 * says what to do instead.
 */
export async function ensureAdmin(db: Db, opts: { email: string; password: string }): Promise<{ created: boolean }> {
  const email = opts.email.trim().toLowerCase();
  return db.transaction(async (tx) => {
    const [existing] = await tx
      .select({ id: users.id, role: users.role, passwordHash: users.passwordHash, orgName: orgs.name })
      .from(users)
      .innerJoin(orgs, eq(orgs.id, users.orgId))
      .where(eq(users.email, email));
    if (existing) {
      if (existing.role !== "admin")
        throw new AdminEmailTakenError(
          `The administrator e-mail ${email} (STRATA_ADMIN_EMAIL) belongs to a customer account of the organisation "${existing.orgName}", ` +
            `which Strata will not make an administrator. Set STRATA_ADMIN_EMAIL to an address no account uses, or delete that ` +
            `customer account if it is yours, then start again.`,
        );
      // Keep the admin, but follow a changed STRATA_ADMIN_PASSWORD.
      const samePassword = existing.passwordHash ? await verifyPassword(existing.passwordHash, opts.password) : false;
      if (!samePassword) await tx.update(users).set({ passwordHash: await hashPassword(opts.password) }).where(eq(users.id, existing.id));
      return { created: false };
    }
    let [org] = await tx.select().from(orgs).where(eq(orgs.slug, OPERATORS_ORG_SLUG));
    if (!org) [org] = await tx.insert(orgs).values({ name: "Strata operators", slug: OPERATORS_ORG_SLUG }).returning();
    await tx.insert(users).values({ orgId: org.id, email, name: "Administrator", role: "admin", passwordHash: await hashPassword(opts.password) });
    return { created: true };
  });
}
