// Credential checks under two limits kept in the database (so they hold across web processes): a backoff per account
// and a cap per address. Both are taken atomically *before* the password is verified, so parallel attempts cannot pass.
import { eq } from "drizzle-orm";
import type { DbOrTx } from "../db";
import { signInAttempts, users } from "../db/schema";
import { config } from "../config";
import { RateLimitedError } from "../errors";
import { verifyAgainstDummy, verifyPassword } from "./password";
import { giveBack, resetLimit, takeAttempt, tryAgainIn } from "./rate-limit";

export type SignInResult = { ok: true; userId: string } | { ok: false; reason: string };

export const accountKey = (email: string) => `sign-in-account:${email}`;
export const addressKey = (address: string) => `sign-in-address:${address}`;

export async function checkCredentials(db: DbOrTx, rawEmail: unknown, password: unknown, address: string): Promise<SignInResult> {
  const email = typeof rawEmail === "string" ? rawEmail.trim().toLowerCase() : "";
  if (!email || typeof password !== "string" || !password) return { ok: false, reason: "Enter your e-mail and password." };
  const limits = config.signIn;

  // The address first: a spray over many accounts stops here without touching their counters.
  const byAddress = await takeAttempt(db, addressKey(address), { kind: "window", max: limits.maxPerAddress, windowSeconds: limits.windowSeconds });
  if (!byAddress.ok)
    throw new RateLimitedError(`Too many failed sign-ins from your network. ${tryAgainIn(byAddress.retryAfterSeconds)}`, byAddress.retryAfterSeconds);
  const byAccount = await takeAttempt(db, accountKey(email), {
    kind: "backoff",
    free: limits.freeAttempts,
    baseSeconds: limits.backoffSeconds,
    maxSeconds: limits.backoffMaxSeconds,
    windowSeconds: limits.windowSeconds,
  });
  if (!byAccount.ok) {
    // Waiting out an account's backoff is not a failure of this address.
    await giveBack(db, addressKey(address));
    throw new RateLimitedError(
      `Too many failed sign-ins for this account. ${tryAgainIn(byAccount.retryAfterSeconds)} If you forgot your password, ask your administrator to reset it.`,
      byAccount.retryAfterSeconds,
    );
  }

  const [user] = await db.select({ id: users.id, passwordHash: users.passwordHash }).from(users).where(eq(users.email, email));
  const ok = user?.passwordHash ? await verifyPassword(user.passwordHash, password) : (await verifyAgainstDummy(password), false);
  // A record of each verified attempt, for people looking into an account; the limits above do not read it.
  await db.insert(signInAttempts).values({ email, address, succeeded: ok });
  if (!ok || !user) return { ok: false, reason: "Wrong e-mail or password." };
  await resetLimit(db, accountKey(email));
  await giveBack(db, addressKey(address));
  return { ok: true, userId: user.id };
}
