// Linking OpenID Connect identities against the real database (the whole flow through a real provider and next-auth
// is playwright/oidc.spec.ts): by (issuer, subject) only, verified e-mails only, never onto an existing account.
import { afterAll, describe, expect, it } from "vitest";
import crypto from "node:crypto";
import { and, eq } from "drizzle-orm";
import { closeTestDb, makeActor, testDb, uniqueEmail } from "../testing/fixtures";
import { accounts, users } from "../db/schema";
import { userForOidcIdentity } from "./oidc";
import { ensureAdmin } from "./seed-admin";

const db = testDb();
afterAll(closeTestDb);

const ISSUER = "https://id.example.test";
const subject = () => crypto.randomUUID();
const identityRows = (sub: string) => db.select().from(accounts).where(and(eq(accounts.issuer, ISSUER), eq(accounts.subject, sub)));

describe("OIDC identities", () => {
  it("a verified new identity gets a new user in a new organisation, linked by issuer and subject", async () => {
    const sub = subject();
    const email = uniqueEmail("oidc");
    const outcome = await userForOidcIdentity(db, { issuer: ISSUER, subject: sub, email: email.toUpperCase(), emailVerified: true, name: "Olive" });
    expect(outcome).toMatchObject({ ok: true, created: true });
    const [user] = await db.select().from(users).where(eq(users.email, email));
    expect(user).toMatchObject({ role: "customer", passwordHash: null, name: "Olive" });
    expect(await identityRows(sub)).toMatchObject([{ userId: user.id, email, provider: "oidc" }]);
  });

  it("a known identity signs in as its user even after its e-mail changed", async () => {
    const sub = subject();
    const email = uniqueEmail("oidc-first");
    const first = await userForOidcIdentity(db, { issuer: ISSUER, subject: sub, email, emailVerified: true });
    const again = await userForOidcIdentity(db, { issuer: ISSUER, subject: sub, email: uniqueEmail("oidc-moved"), emailVerified: false });
    expect(again).toEqual({ ok: true, userId: (first as { userId: string }).userId, created: false });
    // The same subject at another issuer is another person.
    const elsewhere = await userForOidcIdentity(db, { issuer: "https://other-id.example.test", subject: sub, email, emailVerified: true });
    expect(elsewhere).toEqual({ ok: false, code: "OidcEmailTaken" });
  });

  it.each([
    ["false", false],
    ["missing", undefined],
    ['the string "true"', "true"],
  ])("refuses an e-mail whose email_verified is %s, creating nothing", async (_case, emailVerified) => {
    const sub = subject();
    const email = uniqueEmail("unverified");
    expect(await userForOidcIdentity(db, { issuer: ISSUER, subject: sub, email, emailVerified })).toEqual({ ok: false, code: "OidcUnverified" });
    expect(await db.select().from(users).where(eq(users.email, email))).toEqual([]);
    expect(await identityRows(sub)).toEqual([]);
  });

  it("refuses an identity without an e-mail", async () => {
    expect(await userForOidcIdentity(db, { issuer: ISSUER, subject: subject(), email: null, emailVerified: true })).toEqual({ ok: false, code: "OidcNoEmail" });
  });

  it("never links to the admin, or to a password account made earlier with the same e-mail", async () => {
    const adminEmail = uniqueEmail("admin");
    await ensureAdmin(db, { email: adminEmail, password: "Admin-Pass-Word-9" });
    const customer = await makeActor(db);
    for (const email of [adminEmail, customer.user.email]) {
      const sub = subject();
      expect(await userForOidcIdentity(db, { issuer: ISSUER, subject: sub, email, emailVerified: true })).toEqual({ ok: false, code: "OidcEmailTaken" });
      expect(await identityRows(sub)).toEqual([]);
    }
  });

  it("two first sign-ins of one identity at once make one user", async () => {
    const sub = subject();
    const email = uniqueEmail("race");
    const outcomes = await Promise.all([1, 2, 3].map(() => userForOidcIdentity(db, { issuer: ISSUER, subject: sub, email, emailVerified: true })));
    const ids = new Set(outcomes.filter((o) => o.ok).map((o) => (o as { userId: string }).userId));
    expect(ids.size).toBe(1);
    expect(await db.select().from(users).where(eq(users.email, email))).toHaveLength(1);
  });
});
