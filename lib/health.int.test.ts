// GET /api/health tells anyone one word and costs one backend check per cache period; the details are for admins.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { inject } from "vitest";
import { closeTestDb, makeActor, testDb } from "@/lib/testing/fixtures";
import { createToken } from "@/lib/auth/tokens";
import { createDb } from "./db";
import { healthChecks, publicHealth, PUBLIC_HEALTH_TTL_MS, resetPublicHealth } from "./health";
import * as publicRoute from "@/app/api/health/route";
import * as adminRoute from "@/app/api/v1/admin/health/route";

process.env.DATABASE_URL = inject("databaseUrl");
process.env.STRATA_LOG_REQUESTS = "0";
const db = testDb();
afterAll(closeTestDb);
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  resetPublicHealth();
});

const ctx = { params: Promise.resolve({}) };
const get = (route: { GET: (req: Request, c: typeof ctx) => Promise<Response> }, path: string, token?: string) =>
  route.GET(new Request(`https://localhost${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} }), ctx);

let adminToken: string;
let customerToken: string;
beforeAll(async () => {
  adminToken = (await createToken(db, await makeActor(db, { role: "admin" }), { name: "health" })).token;
  customerToken = (await createToken(db, await makeActor(db), { name: "health" })).token;
});

describe("GET /api/health", () => {
  it("answers anonymous callers with the status alone: no versions, no errors", async () => {
    const res = await get(publicRoute, "/api/health");
    expect(res.status).toBe(200);
    const text = await res.text();
    const body = JSON.parse(text);
    expect(Object.keys(body)).toEqual(["status"]);
    expect(["ok", "degraded"]).toContain(body.status);
    expect(text).not.toMatch(/PostgreSQL|Docker|version|registry/i);
  });

  it("runs at most one backend check per cache period however many ask", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const check = vi.spyOn(healthChecks, "run");
    const flood = () => Promise.all(Array.from({ length: 50 }, () => get(publicRoute, "/api/health")));
    const first = await flood();
    expect(first.every((r) => r.status === 200)).toBe(true);
    expect(check).toHaveBeenCalledTimes(1);

    vi.setSystemTime(Date.now() + PUBLIC_HEALTH_TTL_MS - 1);
    await flood();
    expect(check).toHaveBeenCalledTimes(1);

    vi.setSystemTime(Date.now() + 2);
    await flood();
    expect(check).toHaveBeenCalledTimes(2);
  });

  it("says down when the database does not answer", async () => {
    // A database nobody listens on (port 1): the check itself runs and fails.
    const { db: unreachable, pool } = createDb("postgres://strata:x@127.0.0.1:1/strata", { max: 1 });
    try {
      expect(await publicHealth(unreachable)).toBe("down");
    } finally {
      await pool.end();
    }
  });
});

describe("GET /api/v1/admin/health", () => {
  it("gives admins the versions and the state of each part", async () => {
    const res = await get(adminRoute, "/api/v1/admin/health", adminToken);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.database).toMatchObject({ ok: true, detail: expect.stringMatching(/^PostgreSQL \d+/) });
    expect(body).toHaveProperty("docker.detail");
    expect(body).toHaveProperty("registry.detail");
  });

  it("refuses customers (403) and anonymous callers (401)", async () => {
    expect((await get(adminRoute, "/api/v1/admin/health", customerToken)).status).toBe(403);
    expect((await get(adminRoute, "/api/v1/admin/health")).status).toBe(401);
  });
});
