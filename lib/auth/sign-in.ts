// Credential checks with a rate limit per account and per address, kept in the database so it holds across web processes.
import { and, eq, gt, sql } from "drizzle-orm";
import type { DbOrTx } from "../db";
import { signInAttempts, users } from "../db/schema";
import { config } from "../config";
import { RateLimitedError } from "../errors";
import { verifyAgainstDummy, verifyPassword } from "./password";

export type SignInResult = { ok: true; userId: string } | { ok: false; reason: string };

async function recentFailures(db: DbOrTx, column: typeof signInAttempts.email | typeof signInAttempts.address, value: string) {
  const since = new Date(Date.now() - config.signIn.windowSeconds * 1000);
  const [row] = await db
    .select({ n: sql<number>`count(*)::int`, oldest: sql<Date | null>`min(${signInAttempts.at})` })
    .from(signInAttempts)
    .where(and(eq(column, value), eq(signInAttempts.succeeded, false), gt(signInAttempts.at, since)));
  return { count: row?.n ?? 0, oldest: row?.oldest ? new Date(row.oldest) : null };
}

export async function checkCredentials(db: DbOrTx, rawEmail: unknown, password: unknown, address: string): Promise<SignInResult> {
  const email = typeof rawEmail === "string" ? rawEmail.trim().toLowerCase() : "";
  if (!email || typeof password !== "string" || !password) return { ok: false, reason: "Enter your e-mail and password." };

  for (const [column, value, max] of [
    [signInAttempts.email, email, config.signIn.maxPerAccount],
    [signInAttempts.address, address, config.signIn.maxPerAddress],
  ] as const) {
    const { count, oldest } = await recentFailures(db, column, value);
    if (count >= max) {
      const retry = oldest ? Math.max(1, Math.ceil((oldest.getTime() + config.signIn.windowSeconds * 1000 - Date.now()) / 1000)) : config.signIn.windowSeconds;
      throw new RateLimitedError(`Too many failed sign-ins. Try again in ${Math.ceil(retry / 60)} minute(s).`, retry);
    }
  }

  const [user] = await db.select({ id: users.id, passwordHash: users.passwordHash }).from(users).where(eq(users.email, email));
  const ok = user?.passwordHash ? await verifyPassword(user.passwordHash, password) : (await verifyAgainstDummy(password), false);
  await db.insert(signInAttempts).values({ email, address, succeeded: ok });
  if (!ok || !user) return { ok: false, reason: "Wrong e-mail or password." };
  return { ok: true, userId: user.id };
}
