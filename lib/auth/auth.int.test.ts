// Accounts, sign-in limits and tokens against the real embedded PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { count, eq, sql } from "drizzle-orm";
import { closeTestDb, makeActor, STRONG_PASSWORD, testDb, uniqueEmail } from "../testing/fixtures";
import { apiTokens, orgs, rateLimits, signInAttempts, users } from "../db/schema";
import { signUp } from "./sign-up";
import { accountKey, checkCredentials } from "./sign-in";
import { authenticateToken, createToken, revokeToken } from "./tokens";
import { ConflictError, RateLimitedError, UnauthenticatedError, ValidationError } from "../errors";
import { AdminEmailTakenError, ensureAdmin } from "./seed-admin";
import { verifyPassword } from "./password";
import { loadActor } from "./actor";

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
    expect(error.message).toMatch(/Too many failed sign-ins for this account. Try again in \d+ seconds/);
    expect(error.retryAfterSeconds).toBeGreaterThan(0);
  });

  it("checks the limit before the password: of 20 parallel wrong attempts at most the free ones are verified", async () => {
    const actor = await makeActor(db);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => checkCredentials(db, actor.user.email, `Wrong-${i}-password`, `10.4.${i}.1`).catch((e) => e)),
    );
    const [{ n: verified }] = await db.select({ n: count() }).from(signInAttempts).where(eq(signInAttempts.email, actor.user.email));
    expect(verified).toBeLessThanOrEqual(5);
    expect(results.filter((r) => r instanceof RateLimitedError).length).toBe(20 - verified);
    expect(results.filter((r) => !(r instanceof RateLimitedError)).every((r) => r.ok === false)).toBe(true);
  });

  it("backs off instead of locking: the wait doubles per failure, and a success starts the account over", async () => {
    const actor = await makeActor(db);
    const email = actor.user.email;
    // The wait passing is simulated by moving blocked_until into the past; no test sleeps.
    const waitOut = () => db.update(rateLimits).set({ blockedUntil: sql`now() - interval '1 second'` }).where(eq(rateLimits.key, accountKey(email)));
    for (let i = 0; i < 5; i++) await checkCredentials(db, email, `Wrong-${i}-password`, "10.5.0.1");
    const first = await checkCredentials(db, email, STRONG_PASSWORD, "10.5.0.1").catch((e) => e);
    expect(first).toBeInstanceOf(RateLimitedError);
    expect(first.retryAfterSeconds).toBeLessThanOrEqual(15);

    await waitOut();
    await expect(checkCredentials(db, email, "Wrong-6-password", "10.5.0.1")).resolves.toMatchObject({ ok: false });
    const second = await checkCredentials(db, email, STRONG_PASSWORD, "10.5.0.1").catch((e) => e);
    expect(second).toBeInstanceOf(RateLimitedError);
    expect(second.retryAfterSeconds).toBeGreaterThan(15);
    expect(second.retryAfterSeconds).toBeLessThanOrEqual(30);

    // Once the wait is over the right password works (no 15-minute lock), and the account starts over.
    await waitOut();
    await expect(checkCredentials(db, email, STRONG_PASSWORD, "10.5.0.1")).resolves.toEqual({ ok: true, userId: actor.user.id });
    for (let i = 0; i < 4; i++) await expect(checkCredentials(db, email, `Again-${i}-wrong`, "10.5.0.1")).resolves.toMatchObject({ ok: false });
    await expect(checkCredentials(db, email, STRONG_PASSWORD, "10.5.0.1")).resolves.toMatchObject({ ok: true });
  });

  it("slows down repeated failures per address across accounts", async () => {
    const address = `10.2.${Math.floor(Math.random() * 250)}.7`;
    for (let i = 0; i < 20; i++) await checkCredentials(db, uniqueEmail("spray"), "Wrong-password-1", address);
    const actor = await makeActor(db);
    const error = await checkCredentials(db, actor.user.email, STRONG_PASSWORD, address).catch((e) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error.message).toMatch(/from your network. Try again in/);
    // Another address is not affected.
    await expect(checkCredentials(db, actor.user.email, STRONG_PASSWORD, "10.3.0.1")).resolves.toMatchObject({ ok: true });
    const [{ n }] = await db.select({ n: count() }).from(signInAttempts).where(eq(signInAttempts.address, address));
    expect(n).toBe(20);
  });

  it("does not count successful sign-ins against the address", async () => {
    const address = `10.6.${Math.floor(Math.random() * 250)}.9`;
    const actor = await makeActor(db);
    for (let i = 0; i < 25; i++) await expect(checkCredentials(db, actor.user.email, STRONG_PASSWORD, address)).resolves.toMatchObject({ ok: true });
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
    await expect(createToken(db, actor, { name: "x", expiresInDays: 366 })).rejects.toThrow(/expiresInDays must be at most 365 \(STRATA_TOKEN_MAX_DAYS\)/);
    await expect(createToken(db, actor, { name: "x", scopes: [] })).rejects.toThrow(/at least one scope/);
    await expect(createToken(db, actor, { name: "x", scopes: ["root"] })).rejects.toThrow(/each scope is one of read, write, admin/);
    await expect(createToken(db, actor, { name: "x", scopes: ["read", "admin"] })).rejects.toThrow(/Only administrators/);
    expect(await countRows(apiTokens)).toBe(before);
  });

  it("always expire, by default after 90 days, and carry their scopes to the actor", async () => {
    const { token, summary } = await createToken(db, actor, { name: "defaults" });
    expect(summary.expiresAt).not.toBeNull();
    const days = (summary.expiresAt!.getTime() - summary.createdAt.getTime()) / 86_400_000;
    expect(Math.round(days)).toBe(90);
    expect(summary.scopes).toEqual(["read", "write"]);
    const readOnly = await createToken(db, actor, { name: "ro", scopes: ["read"], expiresInDays: 7 });
    const { userId, tokenId } = await authenticateToken(db, readOnly.token);
    expect((await loadActor(db, userId, "token", tokenId)).scopes).toEqual(["read"]);
    expect((await loadActor(db, actor.user.id, "session")).scopes).toEqual(["read", "write"]);
    expect(token).toMatch(/^strata_pat_/);
  });

  it("cannot be made with a token", async () => {
    const { token } = await createToken(db, actor, { name: "minter" });
    const { userId, tokenId } = await authenticateToken(db, token);
    const viaToken = await loadActor(db, userId, "token", tokenId);
    const before = await countRows(apiTokens);
    await expect(createToken(db, viaToken, { name: "child", expiresInDays: 30 })).rejects.toThrow(/API tokens cannot create tokens/);
    expect(await countRows(apiTokens)).toBe(before);
  });

  it("lose the admin scope when their user is no longer an admin", async () => {
    const admin = await makeActor(db, { role: "admin" });
    const { token, summary } = await createToken(db, admin, { name: "admin-all" });
    expect(summary.scopes).toEqual(["read", "write", "admin"]);
    await db.update(users).set({ role: "customer" }).where(eq(users.id, admin.user.id));
    const { userId, tokenId } = await authenticateToken(db, token);
    expect((await loadActor(db, userId, "token", tokenId)).scopes).toEqual(["read", "write"]);
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

  it("never promotes a customer who signed up with the admin e-mail: it refuses and says what to do", async () => {
    const email = uniqueEmail("would-be-admin");
    await signUp(db, { email, name: "Squatter", organisation: "Squatters Inc", password: STRONG_PASSWORD });
    const error = await ensureAdmin(db, { email, password: "Admin-Pass-Word-3" }).catch((e) => e);
    expect(error).toBeInstanceOf(AdminEmailTakenError);
    expect(error.message).toContain(email);
    expect(error.message).toContain('"Squatters Inc"');
    expect(error.message).toMatch(/Set STRATA_ADMIN_EMAIL to an address no account uses/);
    const [user] = await db.select().from(users).where(eq(users.email, email));
    expect(user.role).toBe("customer");
    expect(await verifyPassword(user.passwordHash!, STRONG_PASSWORD)).toBe(true);
  });
});
