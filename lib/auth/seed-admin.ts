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

export async function ensureAdmin(db: Db, opts: { email: string; password: string }): Promise<{ created: boolean }> {
  return db.transaction(async (tx) => {
    const [existing] = await tx.select().from(users).where(eq(users.email, opts.email));
    if (existing) {
      // Keep an existing admin, but follow a changed STRATA_ADMIN_PASSWORD and make sure the role is right.
      const samePassword = existing.passwordHash ? await verifyPassword(existing.passwordHash, opts.password) : false;
      if (!samePassword || existing.role !== "admin") {
        await tx
          .update(users)
          .set({ role: "admin", passwordHash: samePassword ? existing.passwordHash : await hashPassword(opts.password) })
          .where(eq(users.id, existing.id));
      }
      return { created: false };
    }
    let [org] = await tx.select().from(orgs).where(eq(orgs.slug, OPERATORS_ORG_SLUG));
    if (!org) [org] = await tx.insert(orgs).values({ name: "Strata operators", slug: OPERATORS_ORG_SLUG }).returning();
    await tx.insert(users).values({ orgId: org.id, email: opts.email, name: "Administrator", role: "admin", passwordHash: await hashPassword(opts.password) });
    return { created: true };
  });
}
