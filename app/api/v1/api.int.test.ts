// The REST API's route handlers called with real Requests (bearer tokens) against the real database.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { count } from "drizzle-orm";
import { inject } from "vitest";
import { closeTestDb, makeActor, STRONG_PASSWORD, testDb, uniqueEmail } from "@/lib/testing/fixtures";
import { createToken } from "@/lib/auth/tokens";
import { users } from "@/lib/db/schema";
import * as me from "./me/route";
import * as signUp from "./sign-up/route";
import * as tokens from "./tokens/route";
import * as org from "./orgs/[id]/route";
import * as orgList from "./orgs/route";

process.env.DATABASE_URL = inject("databaseUrl");
process.env.STRATA_LOG_REQUESTS = "0";
const db = testDb();
afterAll(closeTestDb);

const call = (handler: (req: Request, ctx: { params: Promise<Record<string, string>> }) => Promise<Response>, init: { method?: string; token?: string; body?: string; params?: Record<string, string>; path?: string } = {}) =>
  handler(
    new Request(`https://localhost${init.path ?? "/api/v1/x"}`, {
      method: init.method ?? "GET",
      headers: { ...(init.token ? { authorization: `Bearer ${init.token}` } : {}), ...(init.body ? { "content-type": "application/json" } : {}) },
      body: init.body,
    }),
    { params: Promise.resolve(init.params ?? {}) },
  );

let customerToken: string;
let customerOrgId: string;
let otherOrgId: string;
let otherOrgSlug: string;
let adminToken: string;

beforeAll(async () => {
  const customer = await makeActor(db);
  customerOrgId = customer.org.id;
  customerToken = (await createToken(db, customer, { name: "t" })).token;
  ({ id: otherOrgId, slug: otherOrgSlug } = (await makeActor(db)).org);
  adminToken = (await createToken(db, await makeActor(db, { role: "admin" }), { name: "a" })).token;
});

describe("GET /api/v1/me", () => {
  it("answers who you are with a bearer token", async () => {
    const res = await call(me.GET, { token: customerToken });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ via: "token", user: { role: "customer" }, org: { id: customerOrgId } });
  });

  it.each([
    ["no credentials", undefined, /Sign in/],
    ["an unknown token", "strata_pat_nope", /not valid/],
    ["a malformed token", "abc", /malformed/],
  ])("refuses %s with 401", async (_case, token, message) => {
    const res = await call(me.GET, { token });
    expect(res.status).toBe(401);
    expect((await res.json()).error.message).toMatch(message);
  });
});

describe("organisation scoping", () => {
  it("lets a customer read their own organisation", async () => {
    const res = await call(org.GET, { token: customerToken, params: { id: customerOrgId } });
    expect(res.status).toBe(200);
  });

  it("answers 404 for another organisation's id, as if it did not exist", async () => {
    const res = await call(org.GET, { token: customerToken, params: { id: otherOrgId } });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: "not_found", message: "No such organisation." } });
  });

  it("lists only the customer's organisation, but every organisation for an admin", async () => {
    const mine = await (await call(orgList.GET, { token: customerToken })).json();
    expect(mine.orgs.map((o: { id: string }) => o.id)).toEqual([customerOrgId]);
    // Other test files make organisations too: the first page is full, and the search finds any of them.
    const all = await (await call(orgList.GET, { token: adminToken })).json();
    expect(all.orgs.length).toBeGreaterThan(2);
    const found = await (await call(orgList.GET, { token: adminToken, path: `/api/v1/orgs?q=${otherOrgSlug}` })).json();
    expect(found.orgs.map((o: { id: string }) => o.id)).toContain(otherOrgId);
    const theirs = await (await call(orgList.GET, { token: customerToken, path: `/api/v1/orgs?q=${otherOrgSlug}` })).json();
    expect(theirs.orgs).toEqual([]);
  });
});

describe("bad input", () => {
  const usersCount = async () => (await db.select({ n: count() }).from(users))[0].n;

  it("answers malformed JSON with 400 and writes nothing", async () => {
    const before = await usersCount();
    const res = await call(signUp.POST, { method: "POST", body: '{"email": ' });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toEqual({ code: "bad_request", message: "The request body is not valid JSON." });
    expect(await usersCount()).toBe(before);
  });

  it("answers unknown fields with 422 naming them", async () => {
    const res = await call(signUp.POST, { method: "POST", body: JSON.stringify({ email: uniqueEmail(), name: "n", organisation: "Org", password: STRONG_PASSWORD, role: "admin" }) });
    expect(res.status).toBe(422);
    expect((await res.json()).error.message).toMatch(/role/);
  });

  it("answers a duplicate e-mail with 409", async () => {
    const email = uniqueEmail();
    const body = JSON.stringify({ email, name: "n", organisation: "Org D", password: STRONG_PASSWORD });
    expect((await call(signUp.POST, { method: "POST", body })).status).toBe(201);
    const res = await call(signUp.POST, { method: "POST", body });
    expect(res.status).toBe(409);
  });

  // Creating one with a session (and the secret shown once) is tested in lib/auth/tokens-api.int.test.ts.
  it("refuses to create a token with a token, and lists tokens without their secrets", async () => {
    const res = await call(tokens.POST, { method: "POST", token: customerToken, body: JSON.stringify({ name: "from-api", scopes: ["read"], expiresInDays: 30 }) });
    expect(res.status).toBe(403);
    expect((await res.json()).error.message).toMatch(/API tokens cannot create tokens/);
    const list = await (await call(tokens.GET, { token: customerToken })).json();
    expect(JSON.stringify(list)).not.toContain(customerToken);
  });
});
