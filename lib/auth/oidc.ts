// Sign-in through an OpenID Connect provider. An identity is linked to a user by (issuer, subject) in `accounts`, never
// by e-mail: a first sign-in needs an e-mail the provider has verified and creates a new organisation, like a sign-up;
// an e-mail that already has an account is refused, so neither a provider account claiming someone's address nor a
// sign-up made with it in advance can take an account over.
import { and, eq } from "drizzle-orm";
import type { DbOrTx } from "../db";
import { accounts, auditLog, orgs, users } from "../db/schema";
import type { SignInErrorCode } from "./sign-in-errors";
import { uniqueSlug } from "./sign-up";

export interface OidcIdentity {
  issuer: string;
  subject: string;
  email?: string | null;
  /** The provider's `email_verified` claim; only `true` counts. */
  emailVerified?: unknown;
  name?: string | null;
}

export type OidcOutcome = { ok: true; userId: string; created: boolean } | { ok: false; code: SignInErrorCode };

const isUniqueViolation = (err: unknown, constraint: string) => {
  const e = (err as { cause?: { code?: string; constraint?: string } }).cause ?? (err as { code?: string; constraint?: string });
  return e.code === "23505" && (e.constraint ?? "").includes(constraint);
};

async function linkedUser(db: DbOrTx, identity: OidcIdentity): Promise<string | null> {
  const [row] = await db
    .update(accounts)
    .set({ lastSignInAt: new Date(), ...(identity.email ? { email: identity.email.toLowerCase() } : {}) })
    .where(and(eq(accounts.issuer, identity.issuer), eq(accounts.subject, identity.subject)))
    .returning({ userId: accounts.userId });
  return row?.userId ?? null;
}

/** The user an identity signs in as: its linked user, or a new one; or why it may not sign in. */
export async function userForOidcIdentity(db: DbOrTx, identity: OidcIdentity): Promise<OidcOutcome> {
  // A known identity signs in as its user, whatever e-mail the provider now gives.
  const linked = await linkedUser(db, identity);
  if (linked) return { ok: true, userId: linked, created: false };

  const email = identity.email?.trim().toLowerCase();
  if (!email) return { ok: false, code: "OidcNoEmail" };
  if (identity.emailVerified !== true) return { ok: false, code: "OidcUnverified" };
  const [taken] = await db.select({ id: users.id }).from(users).where(eq(users.email, email));
  if (taken) return { ok: false, code: "OidcEmailTaken" };

  const name = identity.name?.trim() || email;
  try {
    const userId = await db.transaction(async (tx) => {
      const [org] = await tx
        .insert(orgs)
        .values({ name: `${name}'s organisation`.slice(0, 100), slug: await uniqueSlug(tx, email.split("@")[0] ?? "org") })
        .returning();
      // No password: this user signs in through the provider only.
      const [user] = await tx.insert(users).values({ orgId: org.id, email, name: name.slice(0, 100), role: "customer" }).returning();
      await tx.insert(accounts).values({ userId: user.id, provider: "oidc", issuer: identity.issuer, subject: identity.subject, email, lastSignInAt: new Date() });
      await tx.insert(auditLog).values({ orgId: org.id, actorUserId: user.id, action: "org.sign-up", subject: org.id, detail: { via: "oidc", issuer: identity.issuer } });
      return user.id;
    });
    return { ok: true, userId, created: true };
  } catch (err) {
    // Two first sign-ins of one identity at once: the other one created it.
    if (isUniqueViolation(err, "accounts_issuer_subject")) {
      const userId = await linkedUser(db, identity);
      if (userId) return { ok: true, userId, created: false };
    }
    // A sign-up with this e-mail won the race.
    if (isUniqueViolation(err, "email")) return { ok: false, code: "OidcEmailTaken" };
    throw err;
  }
}
