// Accounts, sign-in limits and tokens against the real embedded PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { count, eq } from "drizzle-orm";
import { closeTestDb, makeActor, STRONG_PASSWORD, testDb, uniqueEmail } from "../testing/fixtures";
import { apiTokens, orgs, signInAttempts, users } from "../db/schema";
import { signUp } from "./sign-up";
import { checkCredentials } from "./sign-in";
import { authenticateToken, createToken, revokeToken } from "./tokens";
import { ConflictError, RateLimitedError, UnauthenticatedError, ValidationError } from "../errors";
import { ensureAdmin } from "./seed-admin";
import { verifyPassword } from "./password";

const db = testDb();
afterAll(closeTestDb);

const countRows = async (table: typeof users | typeof orgs | typeof apiTokens) => (await db.select({ n: count() }).from(table))[0].n;

describe("sign-up", () => {
  it("creates an organisation and its first customer, with a hashed password", async () => {
    const email = uniqueEmail();
    const account = await signUp(db, { email: email.toUpperCase(), name: "Ada", organisation: "Analytical Engines", password: STRONG_PASSWORD });
    const [user] = await db.select().from(users).where(eq(users.id, account.userId));
    expect(user.email).toBe(email);
    expect(user.role).toBe("customer");
    expect(user.orgId).toBe(account.orgId);
    expect(user.passwordHash).toMatch(/^\$argon2id\$/);
    expect(account.orgSlug).toMatch(/^analytical-engines/);
  });

  it("refuses a duplicate e-mail and writes nothing", async () => {
    const email = uniqueEmail();
    await signUp(db, { email, name: "A", organisation: "First Org", password: STRONG_PASSWORD });
    const before = [await countRows(users), await countRows(orgs)];
    await expect(signUp(db, { email, name: "B", organisation: "Second Org", password: STRONG_PASSWORD })).rejects.toBeInstanceOf(ConflictError);
    expect([await countRows(users), await countRows(orgs)]).toEqual(before);
  });

  it.each([
    ["weak password", { password: "password" }, /password/],
    ["bad e-mail", { email: "not-an-email" }, /email/],
    ["unknown field", { admin: true }, /admin/],
    ["missing organisation", { organisation: "" }, /organisation/],
  ])("refuses %s with a message naming the field, writing nothing", async (_case, patch, field) => {
    const before = await countRows(users);
    const input = { email: uniqueEmail(), name: "C", organisation: "Org C", password: STRONG_PASSWORD, ...patch };
    const error = await signUp(db, input).catch((e) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toMatch(field);
    expect(await countRows(users)).toBe(before);
  });
});

describe("sign-in", () => {
  it("accepts the right password and refuses a wrong one", async () => {
    const actor = await makeActor(db);
    await expect(checkCredentials(db, actor.user.email, STRONG_PASSWORD, "10.0.0.1")).resolves.toEqual({ ok: true, userId: actor.user.id });
    await expect(checkCredentials(db, actor.user.email, "Wrong-Password-1", "10.0.0.1")).resolves.toMatchObject({ ok: false, reason: "Wrong e-mail or password." });
    await expect(checkCredentials(db, uniqueEmail("nobody"), STRONG_PASSWORD, "10.0.0.1")).resolves.toMatchObject({ ok: false });
  });

  it("slows down repeated failures per account, even with the right password afterwards", async () => {
    const actor = await makeActor(db);
    for (let i = 0; i < 5; i++) await checkCredentials(db, actor.user.email, `Wrong-${i}-password`, `10.1.0.${i}`);
    const error = await checkCredentials(db, actor.user.email, STRONG_PASSWORD, "10.1.0.99").catch((e) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error.message).toMatch(/Too many failed sign-ins/);
  });

  it("slows down repeated failures per address across accounts", async () => {
    const address = `10.2.${Math.floor(Math.random() * 250)}.7`;
    for (let i = 0; i < 20; i++) await checkCredentials(db, uniqueEmail("spray"), "Wrong-password-1", address);
    const actor = await makeActor(db);
    await expect(checkCredentials(db, actor.user.email, STRONG_PASSWORD, address)).rejects.toBeInstanceOf(RateLimitedError);
    // Another address is not affected.
    await expect(checkCredentials(db, actor.user.email, STRONG_PASSWORD, "10.3.0.1")).resolves.toMatchObject({ ok: true });
    const [{ n }] = await db.select({ n: count() }).from(signInAttempts).where(eq(signInAttempts.address, address));
    expect(n).toBe(20);
  });
});

describe("personal access tokens", () => {
  let actor: Awaited<ReturnType<typeof makeActor>>;
  beforeAll(async () => {
    actor = await makeActor(db);
  });

  it("are shown once, stored hashed, and authenticate", async () => {
    const { token, summary } = await createToken(db, actor, { name: "ci" });
    expect(token).toMatch(/^strata_pat_/);
    const [row] = await db.select().from(apiTokens).where(eq(apiTokens.id, summary.id));
    expect(row.tokenHash).not.toContain(token);
    expect(JSON.stringify(row)).not.toContain(token.slice(12));
    await expect(authenticateToken(db, token)).resolves.toMatchObject({ userId: actor.user.id });
  });

  it("stop working when revoked, with a message saying so", async () => {
    const { token, summary } = await createToken(db, actor, { name: "to-revoke" });
    await revokeToken(db, actor, summary.id);
    await expect(authenticateToken(db, token)).rejects.toThrow(/revoked/);
    await expect(revokeToken(db, actor, summary.id)).rejects.toThrow(/already revoked/);
  });

  it("stop working when expired", async () => {
    const { token, summary } = await createToken(db, actor, { name: "short", expiresInDays: 1 });
    await db.update(apiTokens).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(apiTokens.id, summary.id));
    const error = await authenticateToken(db, token).catch((e) => e);
    expect(error).toBeInstanceOf(UnauthenticatedError);
    expect(error.message).toMatch(/expired/);
  });

  it("cannot be revoked by another organisation's user", async () => {
    const { summary } = await createToken(db, actor, { name: "mine" });
    const other = await makeActor(db);
    await expect(revokeToken(db, other, summary.id)).rejects.toThrow(/No such token/);
  });

  it("refuse bad input and write nothing", async () => {
    const before = await countRows(apiTokens);
    await expect(createToken(db, actor, { name: "" })).rejects.toBeInstanceOf(ValidationError);
    await expect(createToken(db, actor, { name: "x", scope: "all" })).rejects.toThrow(/scope/);
    await expect(createToken(db, actor, { name: "x", expiresInDays: 0 })).rejects.toThrow(/expiresInDays/);
    expect(await countRows(apiTokens)).toBe(before);
  });
});

describe("admin seed", () => {
  it("creates the admin once and follows a changed password", async () => {
    const email = uniqueEmail("admin");
    expect(await ensureAdmin(db, { email, password: "First-Admin-Pass-1" })).toEqual({ created: true });
    expect(await ensureAdmin(db, { email, password: "First-Admin-Pass-1" })).toEqual({ created: false });
    await ensureAdmin(db, { email, password: "Second-Admin-Pass-2" });
    const [admin] = await db.select().from(users).where(eq(users.email, email));
    expect(admin.role).toBe("admin");
    expect(await verifyPassword(admin.passwordHash!, "Second-Admin-Pass-2")).toBe(true);
  });
});
