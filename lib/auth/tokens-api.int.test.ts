// The token and sign-up routes called with real Requests (session cookie or bearer token) against the real database:
// who may create tokens, scopes enforced by withApi, the lifetime cap, and the sign-up limit per address.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { count, eq } from "drizzle-orm";
import { encode } from "next-auth/jwt";
import { closeTestDb, makeActor, STRONG_PASSWORD, testDb, uniqueEmail } from "@/lib/testing/fixtures";
import { apiTokens, users } from "@/lib/db/schema";
import { authSecret, config } from "@/lib/config";
import { createToken } from "./tokens";
import type { Actor } from "./actor";
import * as tokensRoute from "@/app/api/v1/tokens/route";
import * as tokenRoute from "@/app/api/v1/tokens/[id]/route";
import * as meRoute from "@/app/api/v1/me/route";
import * as signUpRoute from "@/app/api/v1/sign-up/route";
import * as adminCacheRoute from "@/app/api/v1/admin/cache/route";

process.env.DATABASE_URL = inject("databaseUrl");
process.env.STRATA_LOG_REQUESTS = "0";
process.env.NEXTAUTH_SECRET ??= "tokens-int-test-secret-0123456789abcdef";
const db = testDb();
afterAll(closeTestDb);

const ORIGIN = new URL(config.publicUrl).origin;
type Handler = (req: Request, ctx: { params: Promise<Record<string, string>> }) => Promise<Response>;

async function sessionCookieOf(actor: Actor) {
  const jwt = await encode({ token: { sub: actor.user.id }, secret: authSecret() });
  return `${config.publicUrl.startsWith("https://") ? "__Secure-next-auth.session-token" : "next-auth.session-token"}=${jwt}`;
}

function call(handler: Handler, init: { method?: string; cookie?: string; token?: string; body?: unknown; params?: Record<string, string>; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { host: new URL(ORIGIN).host, ...init.headers };
  if (init.cookie) Object.assign(headers, { cookie: init.cookie, origin: ORIGIN });
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  if (init.body !== undefined || (init.method && init.method !== "GET")) headers["content-type"] = "application/json";
  return handler(
    new Request(`${ORIGIN}/api/v1/x`, { method: init.method ?? "GET", headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) }),
    { params: Promise.resolve(init.params ?? {}) },
  );
}

const tokenCount = async () => (await db.select({ n: count() }).from(apiTokens))[0].n;

let customer: Actor;
let customerCookie: string;
let admin: Actor;
let adminCookie: string;

beforeAll(async () => {
  customer = await makeActor(db);
  customerCookie = await sessionCookieOf(customer);
  admin = await makeActor(db, { role: "admin" });
  adminCookie = await sessionCookieOf(admin);
});

describe("creating tokens", () => {
  it("works with a session: scopes and expiry as asked, the secret shown once", async () => {
    const res = await call(tokensRoute.POST, { method: "POST", cookie: customerCookie, body: { name: "ci", scopes: ["read"], expiresInDays: 30 } });
    expect(res.status).toBe(201);
    const created = await res.json();
    expect(created).toMatchObject({ name: "ci", scopes: ["read"], lastUsedAt: null, revokedAt: null });
    expect(created.token).toMatch(/^strata_pat_/);
    expect(Math.round((Date.parse(created.expiresAt) - Date.parse(created.createdAt)) / 86_400_000)).toBe(30);
    const list = await (await call(tokensRoute.GET, { cookie: customerCookie })).json();
    expect(list.tokens.find((t: { id: string }) => t.id === created.id)).toMatchObject({ scopes: ["read"], lastUsedAt: null });
    expect(JSON.stringify(list)).not.toContain(created.token);
  });

  it("is refused with a token, with a message saying how", async () => {
    const { token } = await createToken(db, customer, { name: "full" });
    const before = await tokenCount();
    const res = await call(tokensRoute.POST, { method: "POST", token, body: { name: "child", scopes: ["read", "write"], expiresInDays: 365 } });
    expect(res.status).toBe(403);
    expect((await res.json()).error.message).toBe("API tokens cannot create tokens. Sign in to the portal and create one under Settings → API tokens.");
    expect(await tokenCount()).toBe(before);
  });

  it.each([
    ["no lifetime (no more non-expiring tokens)", { name: "x", scopes: ["read"] }, 422, /expiresInDays/],
    ["a lifetime over STRATA_TOKEN_MAX_DAYS", { name: "x", scopes: ["read"], expiresInDays: 400 }, 422, /at most 365 \(STRATA_TOKEN_MAX_DAYS\)/],
    ["no scopes", { name: "x", expiresInDays: 30 }, 422, /scopes/],
    ["an unknown scope", { name: "x", scopes: ["everything"], expiresInDays: 30 }, 422, /each scope is one of read, write, admin/],
    ["the admin scope for a customer", { name: "x", scopes: ["admin"], expiresInDays: 30 }, 403, /Only administrators/],
  ])("refuses %s and writes nothing", async (_case, body, status, message) => {
    const before = await tokenCount();
    const res = await call(tokensRoute.POST, { method: "POST", cookie: customerCookie, body });
    expect(res.status).toBe(status);
    expect((await res.json()).error.message).toMatch(message);
    expect(await tokenCount()).toBe(before);
  });

  it("follows STRATA_TOKEN_MAX_DAYS", async () => {
    process.env.STRATA_TOKEN_MAX_DAYS = "10";
    try {
      const res = await call(tokensRoute.POST, { method: "POST", cookie: customerCookie, body: { name: "x", scopes: ["read"], expiresInDays: 11 } });
      expect(res.status).toBe(422);
      expect((await res.json()).error.message).toMatch(/at most 10/);
    } finally {
      delete process.env.STRATA_TOKEN_MAX_DAYS;
    }
  });

  it("gives an admin the admin scope when asked", async () => {
    const res = await call(tokensRoute.POST, { method: "POST", cookie: adminCookie, body: { name: "ops", scopes: ["read", "admin"], expiresInDays: 7 } });
    expect(res.status).toBe(201);
    expect((await res.json()).scopes).toEqual(["read", "admin"]);
  });
});

describe("token scopes", () => {
  it("a read token reads but cannot write, with a message naming the scope", async () => {
    const { token, summary } = await createToken(db, customer, { name: "reader", scopes: ["read"], expiresInDays: 1 });
    expect((await call(meRoute.GET, { token })).status).toBe(200);
    const res = await call(tokenRoute.DELETE, { method: "DELETE", token, params: { id: summary.id } });
    expect(res.status).toBe(403);
    expect((await res.json()).error.message).toMatch(/^This token lacks the write scope/);
    const [row] = await db.select().from(apiTokens).where(eq(apiTokens.id, summary.id));
    expect(row.revokedAt).toBeNull();
  });

  it("a write-only token cannot read", async () => {
    const { token } = await createToken(db, customer, { name: "writer", scopes: ["write"], expiresInDays: 1 });
    const res = await call(meRoute.GET, { token });
    expect(res.status).toBe(403);
    expect((await res.json()).error.message).toMatch(/lacks the read scope/);
  });

  it("an admin's token without the admin scope cannot use admin routes; with it, it can", async () => {
    const plain = await createToken(db, admin, { name: "no-admin", scopes: ["read", "write"], expiresInDays: 1 });
    const res = await call(adminCacheRoute.GET, { token: plain.token });
    expect(res.status).toBe(403);
    expect((await res.json()).error.message).toMatch(/lacks the admin scope/);
    const full = await createToken(db, admin, { name: "with-admin", scopes: ["read", "admin"], expiresInDays: 1 });
    expect((await call(adminCacheRoute.GET, { token: full.token })).status).toBe(200);
  });

  it("sessions keep everything their role allows", async () => {
    const { summary } = await createToken(db, customer, { name: "to-revoke", expiresInDays: 1 });
    expect((await call(tokenRoute.DELETE, { method: "DELETE", cookie: customerCookie, params: { id: summary.id } })).status).toBe(204);
  });

  it("a token's last use shows in the list", async () => {
    const { token, summary } = await createToken(db, customer, { name: "used", expiresInDays: 1 });
    await call(meRoute.GET, { token });
    const list = await (await call(tokensRoute.GET, { cookie: customerCookie })).json();
    expect(list.tokens.find((t: { id: string }) => t.id === summary.id).lastUsedAt).not.toBeNull();
  });
});

describe("the sign-up limit per address", () => {
  afterEach(() => {
    delete process.env.STRATA_SIGN_UP_MAX_PER_ADDRESS;
    delete process.env.TRUST_PROXY;
  });
  const signUpFrom = (forwardedFor: string, email = uniqueEmail("limited")) =>
    call(signUpRoute.POST, { method: "POST", headers: { "x-forwarded-for": forwardedFor }, body: { email, name: "L", organisation: "Limited Org", password: STRONG_PASSWORD } });

  it("answers 429 with Retry-After and a message past the limit, and creates nobody", async () => {
    process.env.STRATA_SIGN_UP_MAX_PER_ADDRESS = "2";
    const address = `198.51.100.${Math.floor(Math.random() * 250)}`;
    expect((await signUpFrom(address)).status).toBe(201);
    expect((await signUpFrom(address)).status).toBe(201);
    const email = uniqueEmail("third");
    const res = await signUpFrom(address, email);
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await res.json()).error.message).toMatch(/^Too many sign-ups from your network. Try again in \d+ minutes\.$/);
    expect(await db.select().from(users).where(eq(users.email, email))).toEqual([]);
    // Another address is not affected.
    expect((await signUpFrom(`203.0.113.${Math.floor(Math.random() * 250)}`)).status).toBe(201);
  });

  it("behind a trusted proxy keys on the proxy's entry, so a client cannot escape by varying the leftmost", async () => {
    process.env.STRATA_SIGN_UP_MAX_PER_ADDRESS = "1";
    process.env.TRUST_PROXY = "1";
    const client = `192.0.2.${Math.floor(Math.random() * 250)}`;
    expect((await signUpFrom(`10.0.0.1, ${client}`)).status).toBe(201);
    const res = await signUpFrom(`10.9.9.9, ${client}`);
    expect(res.status).toBe(429);
  });
});
