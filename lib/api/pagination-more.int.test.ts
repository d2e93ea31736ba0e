// Two more lists that grow, through their routes against the real database: a flavour's repository revisions (one
// per successful build) and the organisations (an admin's list grows with every customer). Every item reachable page
// by page with inserts between pages, the Link header, search, bad cursors and limits, and other organisations.
// Repository revisions are inserted directly: publishing one needs a real build, which lib/repository covers.
import crypto from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { asc } from "drizzle-orm";
import { closeTestDb, insertStandInBuild, makeActor, removeTestOrgs, testDb } from "../testing/fixtures";
import { callRoute as call, walkPages as walk } from "../testing/api-pages";
import { getPool } from "../db";
import { orgs, repositoryRevisions } from "../db/schema";
import type { Actor } from "../auth/actor";
import { createToken } from "../auth/tokens";
import { ensureBundledBaseManifests, listBaseManifests } from "../base-manifests/base-manifests";
import { createFlavour } from "../flavours/flavours";
import { encodeCursor, INVALID_CURSOR } from "./cursor";
import * as repositoryRoute from "@/app/api/v1/flavours/[id]/repository/route";
import * as orgsRoute from "@/app/api/v1/orgs/route";

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
  token = (await createToken(db, customer, { name: "lists-2" })).token;
});

const fork = (actor: Actor) => createFlavour(db, actor, { baseManifestId: baseId, name: `rp-${crypto.randomUUID().slice(0, 8)}`, description: "" });

/** A repository revision as a successful build would publish it (the stand-in build has no image behind it). */
async function insertRevision(actor: Actor, flavour: Awaited<ReturnType<typeof fork>>, number: number) {
  const build = await insertStandInBuild(db, actor, flavour, "succeeded");
  const digest = () => `sha256:${crypto.randomBytes(32).toString("hex")}`;
  const [revision] = await db
    .insert(repositoryRevisions)
    .values({
      orgId: actor.org.id,
      flavourId: flavour.id,
      number,
      buildId: build.id,
      index: "{}",
      indexDigest: digest(),
      reference: `127.0.0.1:5000/${flavour.imageRepository}-repo:${number}`,
      manifestDigest: digest(),
      packageCount: 1,
      fileCount: number,
      size: 10,
      uncompressedSize: 20,
      debianPackageCount: 0,
    })
    .returning();
  return { ...revision, version: build.version };
}

describe("a flavour's repository revisions", () => {
  it("reaches every revision once, newest first, a page at a time, while builds publish new ones between pages", async () => {
    const flavour = await fork(customer);
    const made = [];
    for (let n = 1; n <= 8; n++) made.push(await insertRevision(customer, flavour, n));
    let number = 8;
    const listed = await walk(repositoryRoute.GET, `/api/v1/flavours/${flavour.id}/repository?limit=3`, "revisions", token, { id: flavour.id }, async () => {
      await insertRevision(customer, flavour, ++number);
    });
    // The revisions there when the walk began, each once, newest first; those published since are on a first page.
    expect(listed.map((r) => r.number)).toEqual([8, 7, 6, 5, 4, 3, 2, 1]);
    expect(listed.map((r) => r.id)).toEqual(made.map((r) => r.id).reverse());
    // The item is the summary it always was.
    expect(listed[0]).toEqual({
      id: made[7].id,
      number: 8,
      createdAt: made[7].createdAt.toISOString(),
      buildId: made[7].buildId,
      version: made[7].version,
      imageRef: expect.stringContaining(flavour.imageRepository),
      imageDigest: expect.stringMatching(/^sha256:/),
      reference: made[7].reference,
      manifestDigest: made[7].manifestDigest,
      indexDigest: made[7].indexDigest,
      packageCount: 1,
      fileCount: 8,
      size: 10,
      uncompressedSize: 20,
      debianPackageCount: 0,
    });

    const first = await call(repositoryRoute.GET, `/api/v1/flavours/${flavour.id}/repository`, token, { id: flavour.id });
    expect(first.body.revisions.map((r: { number: number }) => r.number)).toEqual(Array.from({ length: number }, (_, i) => number - i));
    expect(first.body.next).toBeNull();
  });

  it("answers an empty page for a flavour never built", async () => {
    const flavour = await fork(customer);
    const page = await call(repositoryRoute.GET, `/api/v1/flavours/${flavour.id}/repository`, token, { id: flavour.id });
    expect(page).toEqual({ status: 200, link: null, body: { revisions: [], next: null } });
  });

  it("answers 400 for a cursor that is not one of this list's and for a bad limit", async () => {
    const flavour = await fork(customer);
    await insertRevision(customer, flavour, 1);
    const path = `/api/v1/flavours/${flavour.id}/repository`;
    for (const cursor of ["not-a-cursor", encodeCursor("builds", [3]), encodeCursor("repository-revisions", ["3"]), encodeCursor("repository-revisions", [1.5]), "%%%"]) {
      const page = await call(repositoryRoute.GET, `${path}?cursor=${encodeURIComponent(cursor)}`, token, { id: flavour.id });
      expect(page.status, cursor).toBe(400);
      expect(page.body.error).toEqual({ code: "bad_request", message: INVALID_CURSOR });
    }
    for (const limit of ["0", "101", "x"]) {
      const page = await call(repositoryRoute.GET, `${path}?limit=${limit}`, token, { id: flavour.id });
      expect(page.status, limit).toBe(400);
      expect(page.body.error.message).toMatch(/limit/);
    }
  });

  it("answers 404 for another organisation's flavour, on every page, and for a flavour that does not exist", async () => {
    const other = await makeActor(db);
    const theirs = await fork(other);
    await insertRevision(other, theirs, 1);
    await insertRevision(other, theirs, 2);
    const path = `/api/v1/flavours/${theirs.id}/repository`;
    for (const url of [path, `${path}?limit=1&cursor=${encodeCursor("repository-revisions", [2])}`]) {
      const page = await call(repositoryRoute.GET, url, token, { id: theirs.id });
      expect(page.status, url).toBe(404);
      expect(page.body.error).toEqual({ code: "not_found", message: expect.stringMatching(/No such flavour/) });
      expect(JSON.stringify(page.body)).not.toContain(theirs.imageRepository);
    }
    const missing = crypto.randomUUID();
    expect((await call(repositoryRoute.GET, `/api/v1/flavours/${missing}/repository`, token, { id: missing })).status).toBe(404);
    expect((await call(repositoryRoute.GET, `/api/v1/flavours/not-a-uuid/repository`, token, { id: "not-a-uuid" })).status).toBe(404);
  });
});

describe("the organisations", () => {
  it("reaches every organisation once for an admin, in slug order, while customers sign up between pages", async () => {
    const admin = await makeActor(db, { role: "admin" });
    const adminToken = (await createToken(db, admin, { name: "orgs" })).token;
    for (let i = 0; i < 6; i++) await makeActor(db);
    // The order PostgreSQL sorts slugs in (its collation, not JavaScript's).
    const before = await db.select({ id: orgs.id, slug: orgs.slug }).from(orgs).orderBy(asc(orgs.slug));
    const listed = await walk(orgsRoute.GET, "/api/v1/orgs?limit=4", "orgs", adminToken, {}, async () => {
      await makeActor(db);
    });
    const ids = listed.map((o) => o.id);
    expect(new Set(ids).size).toBe(ids.length);
    const existing = new Set(before.map((o) => o.id));
    expect(ids.filter((id) => existing.has(id))).toEqual(before.map((o) => o.id));
    // Each with its member count.
    expect(listed.find((o) => o.id === admin.org.id)).toEqual({ id: admin.org.id, name: admin.org.name, slug: admin.org.slug, createdAt: expect.any(String), members: 1 });
  });

  it("finds organisations by part of the name or slug, any case, with % and _ taken literally", async () => {
    const admin = await makeActor(db, { role: "admin" });
    const adminToken = (await createToken(db, admin, { name: "orgs" })).token;
    const tag = crypto.randomUUID().slice(0, 8);
    const named = [await makeActor(db, { org: `Acme ${tag} One` }), await makeActor(db, { org: `Acme ${tag} Two` }), await makeActor(db, { org: `Acme ${tag} Three` })];
    const byName = await walk(orgsRoute.GET, `/api/v1/orgs?limit=2&q=${encodeURIComponent(`ACME ${tag.toUpperCase()}`)}`, "orgs", adminToken);
    expect(byName.map((o) => o.id).sort()).toEqual(named.map((a) => a.org.id).sort());
    const bySlug = await call(orgsRoute.GET, `/api/v1/orgs?q=${encodeURIComponent(`${tag}-tw`)}`, adminToken);
    expect(bySlug.body.orgs.map((o: { id: string }) => o.id)).toEqual([named[1].org.id]);
    for (const q of ["%", "_", `Acme_${tag}`]) {
      const page = await call(orgsRoute.GET, `/api/v1/orgs?q=${encodeURIComponent(q)}`, adminToken);
      expect(page.status).toBe(200);
      expect(page.body).toEqual({ orgs: [], next: null });
    }
    const long = await call(orgsRoute.GET, `/api/v1/orgs?q=${"a".repeat(101)}`, adminToken);
    expect(long.status).toBe(400);
    expect(long.body.error.message).toContain("q is at most 100 characters");
  });

  it("shows a customer their own organisation only, whatever the cursor or search", async () => {
    const other = await makeActor(db);
    const page = await call(orgsRoute.GET, "/api/v1/orgs", token);
    expect(page).toEqual({ status: 200, link: null, body: { orgs: [expect.objectContaining({ id: customer.org.id, members: 1 })], next: null } });
    // A cursor before the other organisation's slug, and a search for it, still find nothing of theirs.
    const [{ slug: first }] = await db.select({ slug: orgs.slug }).from(orgs).orderBy(asc(orgs.slug)).limit(1);
    for (const url of [`/api/v1/orgs?cursor=${encodeCursor("orgs", [first])}`, `/api/v1/orgs?q=${other.org.slug}`]) {
      const res = await call(orgsRoute.GET, url, token);
      expect(res.status).toBe(200);
      expect(res.body.orgs.map((o: { id: string }) => o.id)).not.toContain(other.org.id);
      expect(res.body.orgs.every((o: { id: string }) => o.id === customer.org.id)).toBe(true);
    }
  });

  it("answers 400 for a cursor that is not one of this list's", async () => {
    for (const cursor of ["garbage", encodeCursor("flavours", ["a"]), encodeCursor("orgs", ["Not A Slug"]), encodeCursor("orgs", [1])]) {
      const page = await call(orgsRoute.GET, `/api/v1/orgs?cursor=${encodeURIComponent(cursor)}`, token);
      expect(page.status, cursor).toBe(400);
      expect(page.body.error).toEqual({ code: "bad_request", message: INVALID_CURSOR });
    }
    expect((await call(orgsRoute.GET, "/api/v1/orgs?limit=500", token)).status).toBe(400);
  });
});
