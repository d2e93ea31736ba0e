// Lists that grow, through their routes against the real database: every item reachable page by page (none twice,
// none missing, with inserts between pages), the Link header, filters, bad cursors and limits, and the index plans.
import crypto from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { eq, sql } from "drizzle-orm";
import { closeTestDb, insertStandInBuild, makeActor, removeTestOrgs, testDb } from "../testing/fixtures";
import { callRoute, walkPages, type RouteHandler } from "../testing/api-pages";
import { getPool } from "../db";
import { auditLog, builds, channels, devices, flavours, type BuildStatus } from "../db/schema";
import type { Actor } from "../auth/actor";
import { createToken } from "../auth/tokens";
import { ensureBundledBaseManifests, listBaseManifests } from "../base-manifests/base-manifests";
import { createFlavour, saveRevision } from "../flavours/flavours";
import { requestRelease } from "../releases/releases";
import { encodeCursor, INVALID_CURSOR } from "./cursor";
import * as flavoursRoute from "@/app/api/v1/flavours/route";
import * as buildsRoute from "@/app/api/v1/flavours/[id]/builds/route";
import * as revisionsRoute from "@/app/api/v1/flavours/[id]/revisions/route";
import * as auditRoute from "@/app/api/v1/audit/route";
import * as channelAuditRoute from "@/app/api/v1/channels/[id]/audit/route";
import * as devicesRoute from "@/app/api/v1/devices/route";
import * as channelReleasesRoute from "@/app/api/v1/channels/[id]/releases/route";
import * as releasesRoute from "@/app/api/v1/releases/route";

process.env.DATABASE_URL = inject("databaseUrl");
process.env.STRATA_LOG_REQUESTS = "0";
const db = testDb();
afterAll(async () => {
  await removeTestOrgs(db);
  await closeTestDb();
  await getPool().end();
});

let baseId: string;
let customer: Actor;
let token: string;

beforeAll(async () => {
  await ensureBundledBaseManifests(db);
  baseId = (await listBaseManifests(db)).find((b) => b.name === "strata-base")!.id;
  customer = await makeActor(db);
  token = (await createToken(db, customer, { name: "lists" })).token;
});

const call = (handler: RouteHandler, path: string, params: Record<string, string> = {}, bearer = token) => callRoute(handler, path, bearer, params);

/** Every page of a list, as the ids shown in order. */
const walk = async (handler: RouteHandler, path: string, key: string, params: Record<string, string> = {}, between?: () => Promise<void>) =>
  (await walkPages(handler, path, key, token, params, between)).map((item: { id: string | number }) => String(item.id));

const flavourName = () => `pg-${crypto.randomUUID().slice(0, 8)}`;
const fork = (actor: Actor, name = flavourName()) => createFlavour(db, actor, { baseManifestId: baseId, name, description: "" });

/** Builds inserted directly (no job): `count` of them on revision 1, statuses cycling, created one second apart. */
async function insertBuilds(actor: Actor, flavour: { id: string; latest: { id: string } }, count: number, opts: { from?: number; at?: (i: number) => Date; status?: (i: number) => BuildStatus } = {}) {
  const from = opts.from ?? 0;
  const rows = Array.from({ length: count }, (_, k) => {
    const i = from + k;
    return {
      orgId: actor.org.id,
      flavourId: flavour.id,
      revisionId: flavour.latest.id,
      revisionNumber: 1,
      version: `r1.${i + 1}`,
      status: opts.status?.(i) ?? (["succeeded", "failed", "cancelled"] as const)[i % 3],
      totalPackages: 3,
      createdAt: opts.at?.(i) ?? new Date(Date.UTC(2025, 0, 1) + i * 1000),
    };
  });
  return db.insert(builds).values(rows).returning({ id: builds.id, version: builds.version, status: builds.status });
}

describe("the flavours list", () => {
  it("reaches every flavour once, page by page, while new ones are made between pages; ties and microseconds apart included", async () => {
    const actor = await makeActor(db);
    const own = (await createToken(db, actor, { name: "t" })).token;
    const made = [];
    for (let i = 0; i < 9; i++) made.push(await fork(actor));
    // Three share one instant (the id breaks the tie); three differ only in microseconds, which a JS Date cannot hold.
    await db.execute(sql`update ${flavours} set updated_at = '2025-03-01 10:00:00.000000+00' where id in (${sql.join(made.slice(0, 3).map((f) => sql`${f.id}::uuid`), sql`, `)})`);
    for (const [k, f] of made.slice(3, 6).entries()) await db.execute(sql`update ${flavours} set updated_at = ${`2025-03-01 09:00:00.12340${k + 1}+00`} where id = ${f.id}`);
    const ids: string[] = [];
    let url = "/api/v1/flavours?limit=2";
    for (;;) {
      const page = await call(flavoursRoute.GET, url, {}, own);
      expect(page.status).toBe(200);
      ids.push(...page.body.flavours.map((f: { id: string }) => f.id));
      if (!page.body.next) break;
      url = `/api/v1/flavours?limit=2&cursor=${page.body.next}`;
      // A flavour made now is the most recently changed: it is on a first page, never twice on this walk.
      await fork(actor);
    }
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expect.arrayContaining(made.map((f) => f.id)));
    // The oldest last: the three of 10:00 (by id, descending), then those of 09:00 by their microseconds.
    expect(ids.slice(-6)).toEqual([...made.slice(0, 3).map((f) => f.id).sort().reverse(), ...made.slice(3, 6).map((f) => f.id).reverse()]);
  });

  it("searches by name (any case, % and _ literally) and keeps archived flavours apart", async () => {
    const actor = await makeActor(db);
    const own = (await createToken(db, actor, { name: "t" })).token;
    const kiosk = await fork(actor, `kiosk-${crypto.randomUUID().slice(0, 6)}`);
    const kiosk2 = await fork(actor, `edge-kiosk-${crypto.randomUUID().slice(0, 6)}`);
    await fork(actor, `router-${crypto.randomUUID().slice(0, 6)}`);
    await db.update(flavours).set({ archivedAt: new Date() }).where(eq(flavours.id, kiosk2.id));
    const found = await call(flavoursRoute.GET, "/api/v1/flavours?q=KIOSK", {}, own);
    expect(found.body.flavours.map((f: { id: string }) => f.id)).toEqual([kiosk.id]);
    expect(found.body.flavours[0]).toMatchObject({ name: kiosk.name, latestRevision: 1, base: { name: "strata-base" } });
    const archived = await call(flavoursRoute.GET, "/api/v1/flavours?q=kiosk&archived=true", {}, own);
    expect(archived.body.flavours.map((f: { id: string }) => f.id)).toEqual([kiosk2.id]);
    expect((await call(flavoursRoute.GET, "/api/v1/flavours?q=%25", {}, own)).body.flavours).toEqual([]);
    expect((await call(flavoursRoute.GET, "/api/v1/flavours?q=k_osk", {}, own)).body.flavours).toEqual([]);
  });

  it("keeps other organisations' flavours out of every page", async () => {
    const stranger = await makeActor(db);
    const theirs = await fork(stranger);
    const ids = await walk(flavoursRoute.GET, "/api/v1/flavours?limit=100", "flavours");
    expect(ids).not.toContain(theirs.id);
  });
});

describe("the builds list", () => {
  let flavour: Awaited<ReturnType<typeof fork>>;
  let made: Array<{ id: string; version: string; status: string }>;

  beforeAll(async () => {
    flavour = await fork(customer);
    // More than the 100 the old list stopped at; twelve share one instant.
    made = await insertBuilds(customer, flavour, 130, { at: (i) => (i < 12 ? new Date(Date.UTC(2025, 0, 1)) : new Date(Date.UTC(2025, 0, 1) + i * 1000)) });
  });

  it("reaches all 130 builds, newest first, none twice, while builds start between pages", async () => {
    let more = 130;
    const ids = await walk(buildsRoute.GET, `/api/v1/flavours/${flavour.id}/builds?limit=40`, "builds", { id: flavour.id }, async () => {
      await insertBuilds(customer, flavour, 2, { from: more, at: () => new Date(), status: () => "queued" });
      more += 2;
    });
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expect.arrayContaining(made.map((b) => b.id)));
    // The newest first: the first page starts with r1.130, the last ends with the twelve that share an instant.
    const versions = new Map(made.map((b) => [b.id, b.version]));
    expect(versions.get(ids[0])).toBe("r1.130");
    expect(ids.slice(-12).sort()).toEqual(made.slice(0, 12).map((b) => b.id).sort());
  });

  it("answers 50 by default and shows no internal fields", async () => {
    const page = await call(buildsRoute.GET, `/api/v1/flavours/${flavour.id}/builds`, { id: flavour.id });
    expect(page.body.builds).toHaveLength(50);
    for (const internal of ["jobId", "workerId", "attempt", "cursorAt", "heartbeatAt"]) expect(page.body.builds[0]).not.toHaveProperty(internal);
  });

  it("filters by status, revision and version, and pages through the filtered list", async () => {
    const failed = await walk(buildsRoute.GET, `/api/v1/flavours/${flavour.id}/builds?status=failed&limit=7`, "builds", { id: flavour.id });
    expect(failed.sort()).toEqual(made.filter((b) => b.status === "failed").map((b) => b.id).sort());
    const version = await call(buildsRoute.GET, `/api/v1/flavours/${flavour.id}/builds?q=r1.12`, { id: flavour.id });
    expect(version.body.builds.map((b: { version: string }) => b.version).sort()).toEqual(["r1.12", "r1.120", "r1.121", "r1.122", "r1.123", "r1.124", "r1.125", "r1.126", "r1.127", "r1.128", "r1.129"]);
    expect((await call(buildsRoute.GET, `/api/v1/flavours/${flavour.id}/builds?revision=2`, { id: flavour.id })).body.builds).toEqual([]);
    expect((await call(buildsRoute.GET, `/api/v1/flavours/${flavour.id}/builds?revision=1&limit=1`, { id: flavour.id })).body.builds).toHaveLength(1);
  });

  it.each([
    ["a cursor that is not one", "cursor=not-a-cursor!", INVALID_CURSOR],
    ["an edited cursor", `cursor=${encodeCursor("builds", ["yesterday", "nope"])}`, INVALID_CURSOR],
    ["another list's cursor", `cursor=${encodeCursor("flavours", ["2025-01-01T00:00:00.000000Z", crypto.randomUUID()])}`, INVALID_CURSOR],
    ["an impossible date", `cursor=${encodeCursor("builds", ["2025-13-45T00:00:00.000000Z", crypto.randomUUID()])}`, INVALID_CURSOR],
    ["limit 0", "limit=0", /limit/],
    ["limit 101", "limit=101", /limit/],
    ["a limit that is not a number", "limit=lots", /limit/],
    ["an unknown status", "status=exploded", /status/],
    ["revision 0", "revision=0", /revision/],
  ])("refuses %s with 400 and a message", async (_case, query, message) => {
    const before = (await db.select({ n: sql<number>`count(*)::int` }).from(builds).where(eq(builds.flavourId, flavour.id)))[0].n;
    const res = await call(buildsRoute.GET, `/api/v1/flavours/${flavour.id}/builds?${query}`, { id: flavour.id });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("bad_request");
    if (typeof message === "string") expect(res.body.error.message).toBe(message);
    else expect(res.body.error.message).toMatch(message);
    expect((await db.select({ n: sql<number>`count(*)::int` }).from(builds).where(eq(builds.flavourId, flavour.id)))[0].n).toBe(before);
  });

  it("answers 404 for another organisation's flavour, on every page", async () => {
    const stranger = await makeActor(db);
    const strangerToken = (await createToken(db, stranger, { name: "s" })).token;
    const res = await call(buildsRoute.GET, `/api/v1/flavours/${flavour.id}/builds`, { id: flavour.id }, strangerToken);
    expect(res.status).toBe(404);
    expect((await call(buildsRoute.GET, `/api/v1/flavours/x/builds`, { id: "x" })).status).toBe(404);
  });
});

describe("revisions, audit, devices and releases", () => {
  it("pages a flavour's revisions newest first", async () => {
    const flavour = await fork(customer);
    for (let i = 0; i < 6; i++) await saveRevision(db, customer, flavour.id, { layers: [], message: `save ${i}` });
    const ids = await walk(revisionsRoute.GET, `/api/v1/flavours/${flavour.id}/revisions?limit=3`, "revisions", { id: flavour.id });
    expect(ids).toHaveLength(7);
    const page = await call(revisionsRoute.GET, `/api/v1/flavours/${flavour.id}/revisions?limit=3`, { id: flavour.id });
    expect(page.body.revisions.map((r: { number: number }) => r.number)).toEqual([7, 6, 5]);
    const bad = await call(revisionsRoute.GET, `/api/v1/flavours/${flavour.id}/revisions?cursor=${encodeCursor("revisions", ["3"])}`, { id: flavour.id });
    expect(bad.status).toBe(400);
  });

  it("pages the audit log and a channel's, and the devices inventory, without repeats while entries are written", async () => {
    const actor = await makeActor(db);
    const own = (await createToken(db, actor, { name: "t" })).token;
    const flavour = await fork(actor);
    const [stable] = await db.select().from(channels).where(eq(channels.flavourId, flavour.id)).orderBy(channels.name);
    const entries = await db
      .insert(auditLog)
      .values(Array.from({ length: 25 }, (_, i) => ({ orgId: actor.org.id, action: "test.entry", channelId: i % 2 ? stable.id : null, detail: { i } })))
      .returning({ id: auditLog.id });
    const write = async () => void (await db.insert(auditLog).values({ orgId: actor.org.id, action: "test.between", channelId: stable.id }));
    const walkAs = async (handler: RouteHandler, path: string, key: string, params: Record<string, string> = {}) =>
      (await walkPages(handler, path, key, own, params, write)).map((e: { id: string | number }) => String(e.id));
    const all = await walkAs(auditRoute.GET, "/api/v1/audit?limit=4", "entries");
    expect(new Set(all).size).toBe(all.length);
    expect(all).toEqual(expect.arrayContaining(entries.map((e) => String(e.id))));
    const onChannel = await walkAs(channelAuditRoute.GET, `/api/v1/channels/${stable.id}/audit?limit=5`, "entries", { id: stable.id });
    expect(onChannel).toEqual(expect.arrayContaining(entries.filter((_, i) => i % 2).map((e) => String(e.id))));
    expect(onChannel).not.toContain(String(entries[0].id));

    const inserted = await db
      .insert(devices)
      .values(Array.from({ length: 7 }, (_, i) => ({ orgId: actor.org.id, channelId: stable.id, name: `kiosk-${i}`, secretHash: crypto.randomBytes(32).toString("hex"), registeredAt: new Date(Date.UTC(2025, 1, 1, 0, 0, i % 3)) })))
      .returning({ id: devices.id });
    const shown = await walkAs(devicesRoute.GET, "/api/v1/devices?limit=2", "devices");
    expect(shown.sort()).toEqual(inserted.map((d) => d.id).sort());
    const page = await call(devicesRoute.GET, "/api/v1/devices?limit=1", {}, own);
    expect(page.body.devices[0]).toMatchObject({ channel: { id: stable.id }, flavour: { id: flavour.id } });
    expect(page.body.devices[0]).not.toHaveProperty("secretHash");
    expect((await call(devicesRoute.GET, "/api/v1/devices?channel=nope", {}, own)).status).toBe(400);
    expect((await call(auditRoute.GET, `/api/v1/audit?cursor=${encodeCursor("devices", ["2025-01-01T00:00:00.000000Z", crypto.randomUUID()])}`, {}, own)).status).toBe(400);
  });

  it("pages release requests: a channel's newest first, the pending queue oldest first", async () => {
    const actor = await makeActor(db);
    const own = (await createToken(db, actor, { name: "t" })).token;
    const flavour = await fork(actor);
    const [stable] = await db.select().from(channels).where(eq(channels.flavourId, flavour.id)).orderBy(channels.name);
    const requested = [];
    for (let i = 1; i <= 5; i++) requested.push(await requestRelease(db, actor, stable.id, { buildId: (await insertStandInBuild(db, actor, flavour)).id, version: `1.${i}.0` }));
    const channelIds: string[] = [];
    let url = `/api/v1/channels/${stable.id}/releases?limit=2`;
    for (;;) {
      const page = await call(channelReleasesRoute.GET, url, { id: stable.id }, own);
      expect(page.status).toBe(200);
      channelIds.push(...page.body.releases.map((r: { id: string }) => r.id));
      if (!page.body.next) break;
      url = `/api/v1/channels/${stable.id}/releases?limit=2&cursor=${page.body.next}`;
    }
    expect(channelIds).toEqual(requested.map((r) => r.id).reverse());
    const pending = await call(releasesRoute.GET, "/api/v1/releases?status=pending&limit=3", {}, own);
    expect(pending.body.releases.map((r: { version: string }) => r.version)).toEqual(["1.1.0", "1.2.0", "1.3.0"]);
    const rest = await call(releasesRoute.GET, `/api/v1/releases?status=pending&limit=3&cursor=${pending.body.next}`, {}, own);
    expect(rest.body.releases.map((r: { version: string }) => r.version)).toEqual(["1.4.0", "1.5.0"]);
    // A cursor of the pending queue does not fit the list in another order.
    expect((await call(releasesRoute.GET, `/api/v1/releases?status=decided&cursor=${pending.body.next}`, {}, own)).status).toBe(400);
    // Another organisation's channel is a 404, not an empty list.
    const stranger = await makeActor(db);
    expect((await call(channelReleasesRoute.GET, `/api/v1/channels/${stable.id}/releases`, { id: stable.id }, (await createToken(db, stranger, { name: "s" })).token)).status).toBe(404);
  });
});

describe("index plans", () => {
  /** The plan PostgreSQL picks with sequential scans and sorts priced out: a plan without them needs a fitting index. */
  async function plan(query: ReturnType<typeof sql>) {
    return db.transaction(async (tx) => {
      await tx.execute(sql`set local enable_seqscan = off`);
      await tx.execute(sql`set local enable_sort = off`);
      const rows = await tx.execute(sql`explain ${query}`);
      return (rows.rows as Array<{ "QUERY PLAN": string }>).map((r) => r["QUERY PLAN"]).join("\n");
    });
  }
  const someFlavour = async () => (await db.select({ id: flavours.id, orgId: flavours.orgId }).from(flavours).limit(1))[0];

  it("counts a revision's builds (starting a build) through builds_revision_version_idx, not a scan", async () => {
    const [build] = await db.select({ revisionId: builds.revisionId }).from(builds).limit(1);
    const text = await plan(sql`select coalesce(max(substring(version from '^r[0-9]+[.]([0-9]+)$')::int), 0) from builds where revision_id = ${build.revisionId} and kind = 'build'`);
    expect(text).toMatch(/Index (Only )?Scan .*builds_revision_version_idx|Bitmap Index Scan on builds_revision_version_idx/);
    expect(text).not.toMatch(/Seq Scan/);
  });

  it("serves each keyset page from an index in the list's order, without sorting", async () => {
    const f = await someFlavour();
    const at = "2025-01-01T00:00:00.000000Z";
    const id = crypto.randomUUID();
    const cases: Array<[string, ReturnType<typeof sql>]> = [
      ["flavours_org_updated_idx", sql`select id from flavours where org_id = ${f.orgId} and archived_at is null and (updated_at, id) < (${at}::timestamptz, ${id}::uuid) order by updated_at desc, id desc limit 51`],
      ["builds_flavour_idx", sql`select id from builds where flavour_id = ${f.id} and (created_at, id) < (${at}::timestamptz, ${id}::uuid) order by created_at desc, id desc limit 51`],
      ["audit_log_org_idx", sql`select id from audit_log where org_id = ${f.orgId} and id < 1000000 order by id desc limit 51`],
      ["audit_log_channel_idx", sql`select id from audit_log where channel_id = ${id} and id < 1000000 order by id desc limit 51`],
      ["devices_org_idx", sql`select id from devices where org_id = ${f.orgId} and (registered_at, id) < (${at}::timestamptz, ${id}::uuid) order by registered_at desc, id desc limit 51`],
    ];
    for (const [index, query] of cases) {
      const text = await plan(query);
      expect(text, text).toContain(index);
      expect(text, text).not.toMatch(/Sort|Seq Scan/);
    }
  });
});
