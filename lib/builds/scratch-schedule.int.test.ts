// Building from scratch as users ask for it, against the real database: the API's `cache: false` and the flavour's
// `scratchRebuildDays` (with every bad value refused, changing nothing), and the scheduler that starts due rebuilds.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { and, count, eq, inArray } from "drizzle-orm";
import { closeTestDb, makeActor, removeTestOrgs, testDb } from "../testing/fixtures";
import { getPool } from "../db";
import { auditLog, builds, flavours } from "../db/schema";
import type { Actor } from "../auth/actor";
import { createToken } from "../auth/tokens";
import { ensureBundledBaseManifests, listBaseManifests } from "../base-manifests/base-manifests";
import { createFlavour, saveRevision } from "../flavours/flavours";
import { cancelBuild } from "./builds";
import { startDueScratchRebuilds } from "./scratch-schedule";
import * as flavourRoute from "@/app/api/v1/flavours/[id]/route";
import * as flavourBuildsRoute from "@/app/api/v1/flavours/[id]/builds/route";

process.env.DATABASE_URL = inject("databaseUrl");
process.env.STRATA_LOG_REQUESTS = "0";

const db = testDb();
const DAY = 24 * 3600 * 1000;
let baseId: string;
let customer: Actor;
let token: string;

beforeAll(async () => {
  await ensureBundledBaseManifests(db);
  baseId = (await listBaseManifests(db)).find((b) => b.name === "strata-base")!.id;
  customer = await makeActor(db);
  token = (await createToken(db, customer, { name: "t" })).token;
});

afterAll(async () => {
  // No queued build of this file may be left for a worker of a later suite.
  const queued = await db.select({ id: builds.id }).from(builds).where(and(eq(builds.orgId, customer.org.id), eq(builds.status, "queued")));
  for (const { id } of queued) await cancelBuild(db, customer, id);
  await removeTestOrgs(db);
  await closeTestDb();
  await getPool().end();
});

type Handler = (req: Request, ctx: { params: Promise<Record<string, string>> }) => Promise<Response>;

/** Calls a route handler as Next would, with a bearer token; returns the status and the JSON body. */
async function call(handler: Handler, init: { method: string; id: string; body?: unknown }) {
  const res = await handler(
    new Request("https://localhost/api/v1/x", {
      method: init.method,
      headers: { authorization: `Bearer ${token}`, ...(init.body !== undefined ? { "content-type": "application/json" } : {}) },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    }),
    { params: Promise.resolve({ id: init.id }) },
  );
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as any };
}

const fork = () => createFlavour(db, customer, { baseManifestId: baseId, name: `sched-${crypto.randomUUID().slice(0, 8)}`, description: "" });
const flavourRow = async (id: string) => (await db.select().from(flavours).where(eq(flavours.id, id)))[0];
const buildsOf = (flavourId: string) => db.select().from(builds).where(eq(builds.flavourId, flavourId));
const schedule = (id: string, days: number | null, from: Date | null, archivedAt: Date | null = null) =>
  db.update(flavours).set({ scratchRebuildDays: days, scratchRebuildFrom: from, archivedAt }).where(eq(flavours.id, id));

describe("starting a build from scratch through the API", () => {
  it("builds from scratch with cache: false, and normally by default", async () => {
    const flavour = await fork();
    const scratch = await call(flavourBuildsRoute.POST, { method: "POST", id: flavour.id, body: { cache: false } });
    expect(scratch.status).toBe(201);
    expect(scratch.body).toMatchObject({ fromScratch: true, scheduled: false, status: "queued" });
    const [row] = await db.select({ startedBy: builds.startedBy }).from(builds).where(eq(builds.id, scratch.body.id));
    expect(row.startedBy).toBe(customer.user.id);
    const normal = await call(flavourBuildsRoute.POST, { method: "POST", id: flavour.id, body: {} });
    expect(normal.status).toBe(201);
    expect(normal.body.fromScratch).toBe(false);
    const listed = await call(flavourBuildsRoute.GET, { method: "GET", id: flavour.id });
    expect(listed.body.builds.map((b: { fromScratch: boolean }) => b.fromScratch)).toEqual([false, true]);
  });

  it.each([["no"], [0], [null], ["false"]])("refuses cache: %j with a 422 and starts nothing", async (cache) => {
    const flavour = await fork();
    const res = await call(flavourBuildsRoute.POST, { method: "POST", id: flavour.id, body: { cache } });
    expect(res.status).toBe(422);
    expect(res.body.error.message).toMatch(/cache must be true or false/);
    expect(res.body.error.details.issues).toEqual([expect.objectContaining({ path: "cache" })]);
    expect(await buildsOf(flavour.id)).toEqual([]);
  });
});

describe("the from-scratch schedule setting", () => {
  it("turns on with its clock at now, keeps the clock when the interval changes, and turns off", async () => {
    const flavour = await fork();
    expect(flavour).toMatchObject({ scratchRebuildDays: null, nextScratchRebuildAt: null });
    const before = Date.now();
    const on = await call(flavourRoute.PATCH, { method: "PATCH", id: flavour.id, body: { scratchRebuildDays: 7 } });
    expect(on.status).toBe(200);
    expect(on.body.scratchRebuildDays).toBe(7);
    const from = (await flavourRow(flavour.id)).scratchRebuildFrom!;
    expect(from.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(on.body.nextScratchRebuildAt)).toBe(from.getTime() + 7 * DAY);

    const weekly = await call(flavourRoute.PATCH, { method: "PATCH", id: flavour.id, body: { scratchRebuildDays: 14 } });
    expect(Date.parse(weekly.body.nextScratchRebuildAt)).toBe(from.getTime() + 14 * DAY);
    expect((await flavourRow(flavour.id)).scratchRebuildFrom).toEqual(from);
    // Other changes leave the schedule alone.
    await call(flavourRoute.PATCH, { method: "PATCH", id: flavour.id, body: { description: "kiosks" } });
    expect(await flavourRow(flavour.id)).toMatchObject({ scratchRebuildDays: 14, scratchRebuildFrom: from });

    const off = await call(flavourRoute.PATCH, { method: "PATCH", id: flavour.id, body: { scratchRebuildDays: null } });
    expect(off.status).toBe(200);
    expect(off.body).toMatchObject({ scratchRebuildDays: null, nextScratchRebuildAt: null });
    expect(await flavourRow(flavour.id)).toMatchObject({ scratchRebuildDays: null, scratchRebuildFrom: null });
    const get = await call(flavourRoute.GET, { method: "GET", id: flavour.id });
    expect(get.body.scratchRebuildDays).toBeNull();
  });

  it.each([[0], [91], ["weekly"], [2.5], [-7], ["7"]])("refuses scratchRebuildDays: %j with a 422 and changes nothing", async (days) => {
    const flavour = await fork();
    await call(flavourRoute.PATCH, { method: "PATCH", id: flavour.id, body: { scratchRebuildDays: 30 } });
    const before = await flavourRow(flavour.id);
    const res = await call(flavourRoute.PATCH, { method: "PATCH", id: flavour.id, body: { scratchRebuildDays: days, description: "changed" } });
    expect(res.status).toBe(422);
    expect(res.body.error.details.issues).toEqual([expect.objectContaining({ path: "scratchRebuildDays" })]);
    expect(res.body.error.message).toMatch(/scratchRebuildDays/);
    expect(await flavourRow(flavour.id)).toEqual(before);
  });
});

describe("the scheduler", () => {
  it("starts exactly one scheduled from-scratch build of the latest revision for a due flavour, and none for the others", async () => {
    const now = Date.now();
    const due = await fork();
    await saveRevision(db, customer, due.id, { layers: [{ category: "layer", name: "motd", version: "1", files: [{ path: "/etc/motd", mode: "0644", content: "hi\n" }] }] });
    await schedule(due.id, 7, new Date(now - 8 * DAY));
    const notDue = await fork();
    await schedule(notDue.id, 7, new Date(now - 6 * DAY));
    const off = await fork();
    const archived = await fork();
    await schedule(archived.id, 1, new Date(now - 5 * DAY), new Date(now - DAY));
    // Due, but a from-scratch build is queued already: that one counts, no second is started.
    const busy = await fork();
    await schedule(busy.id, 7, new Date(now - 8 * DAY));
    const queued = await call(flavourBuildsRoute.POST, { method: "POST", id: busy.id, body: { cache: false } });
    const mine = [due.id, notDue.id, off.id, archived.id, busy.id];
    const auditBefore = (await db.select({ n: count() }).from(auditLog).where(eq(auditLog.orgId, customer.org.id)))[0].n;

    // Two workers looking at the same moment.
    const rounds = await Promise.all([startDueScratchRebuilds(db), startDueScratchRebuilds(db)]);
    const started = rounds.flat().filter((s) => mine.includes(s.flavourId));
    expect(started.filter((s) => s.flavourId === due.id)).toHaveLength(1);
    expect(started.find((s) => s.flavourId === busy.id)).toEqual({ flavourId: busy.id, buildId: null });
    expect(started).toHaveLength(2);

    const [build] = await buildsOf(due.id);
    expect(await buildsOf(due.id)).toHaveLength(1);
    expect(build).toMatchObject({ id: started.find((s) => s.flavourId === due.id)!.buildId, fromScratch: true, scheduled: true, startedBy: null, status: "queued", revisionNumber: 2 });
    expect(build.jobId).not.toBeNull();
    expect(await buildsOf(notDue.id)).toEqual([]);
    expect(await buildsOf(off.id)).toEqual([]);
    expect(await buildsOf(archived.id)).toEqual([]);
    expect((await buildsOf(busy.id)).map((b) => b.id)).toEqual([queued.body.id]);

    // The audit log says the schedule started it.
    const audit = await db.select().from(auditLog).where(and(eq(auditLog.orgId, customer.org.id), eq(auditLog.action, "build.start-scheduled")));
    expect(audit).toEqual([expect.objectContaining({ actorUserId: null, subject: build.id, detail: expect.objectContaining({ flavourId: due.id, revision: 2, everyDays: 7 }) })]);
    expect((await db.select({ n: count() }).from(auditLog).where(eq(auditLog.orgId, customer.org.id)))[0].n).toBe(auditBefore + 1);

    // The clocks moved: the next one is an interval away, so looking again starts nothing.
    for (const id of [due.id, busy.id]) expect((await flavourRow(id)).scratchRebuildFrom!.getTime()).toBeGreaterThanOrEqual(now - 1000);
    expect((await flavourRow(notDue.id)).scratchRebuildFrom!.getTime()).toBe(now - 6 * DAY);
    expect((await startDueScratchRebuilds(db)).filter((s) => mine.includes(s.flavourId))).toEqual([]);
    expect(await db.select({ id: builds.id }).from(builds).where(inArray(builds.flavourId, mine))).toHaveLength(2);
  });
});
