// Versions and queueing against the real PostgreSQL (and, for the rename, the real dockerd and registry): concurrent
// Build clicks get distinct versions, the unique indexes refuse a duplicate, a renamed flavour keeps pushing to its
// repository, an organisation's queued builds are capped, and pg-boss hands out builds fairly between organisations.
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import path from "node:path";
import crypto from "node:crypto";
import PgBoss from "pg-boss";
import { and, count, eq, inArray, sql } from "drizzle-orm";
import { closeTestDb, makeActor, removeTestOrgs, testDb } from "../testing/fixtures";
import { publishTinyBase, startBuildTestStack, testBuildDeps, type BuildTestStack } from "../testing/build-deps";
import { getPool } from "../db";
import { buildPackages, builds, flavourRevisions, flavours } from "../db/schema";
import type { Actor } from "../auth/actor";
import { createToken } from "../auth/tokens";
import { createFlavour, saveRevision, updateFlavour } from "../flavours/flavours";
import { ConflictError, RateLimitedError } from "../errors";
import { config } from "../config";
import { QUEUES } from "../jobs/boss";
import { parseRegistry } from "../registry/endpoint";
import { runBuild } from "../builder/run-build";
import { cancelBuild, getBuild, queueFullMessage, retryBuild, startBuild } from "./builds";
import { startDueScratchRebuilds } from "./scratch-schedule";
import * as flavourBuildsRoute from "@/app/api/v1/flavours/[id]/builds/route";
import * as retryRoute from "@/app/api/v1/builds/[id]/retry/route";

process.env.DATABASE_URL = inject("databaseUrl");
process.env.STRATA_LOG_REQUESTS = "0";

const db = testDb();
const dataDir = path.resolve(".data/test");
const stamp = Date.now().toString(36);
let customer: Actor;
let token: string;
let baseId: string;
const actors: Actor[] = [];

type Handler = (req: Request, ctx: { params: Promise<Record<string, string>> }) => Promise<Response>;

/** Calls a route handler as Next would, with a bearer token; returns the status and the JSON body. */
async function call(handler: Handler, init: { method: string; id: string; body?: unknown; token?: string }) {
  const res = await handler(
    new Request("https://localhost/api/v1/x", {
      method: init.method,
      headers: { authorization: `Bearer ${init.token ?? token}`, "content-type": "application/json" },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    }),
    { params: Promise.resolve({ id: init.id }) },
  );
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

async function newActor() {
  const actor = await makeActor(db);
  actors.push(actor);
  return actor;
}
const fork = (actor = customer, name = `ver-${stamp}-${crypto.randomUUID().slice(0, 6)}`) => createFlavour(db, actor, { baseManifestId: baseId, name, description: "" });
const versionsOf = async (flavourId: string) => (await db.select({ version: builds.version }).from(builds).where(eq(builds.flavourId, flavourId))).map((b) => b.version);
const byNumber = (versions: string[]) => [...versions].sort((a, b) => Number(a.split(".")[1]) - Number(b.split(".")[1]));
const expected = (n: number) => Array.from({ length: n }, (_, i) => `r1.${i + 1}`);

/** What a refused start must leave as it was, for one organisation: its builds, their packages and its jobs. */
async function footprint(orgId: string) {
  const [b] = await db.select({ n: count() }).from(builds).where(eq(builds.orgId, orgId));
  const [p] = await db.select({ n: count() }).from(buildPackages).innerJoin(builds, eq(builds.id, buildPackages.buildId)).where(eq(builds.orgId, orgId));
  const jobs = await db.execute(sql`select count(*)::int as n from pgboss.job j join ${builds} b on b.job_id = j.id::text where b.org_id = ${orgId}`);
  return { builds: b.n, packages: p.n, jobs: (jobs.rows[0] as { n: number }).n };
}

/** Runs `fn` with STRATA_ORG_MAX_QUEUED set, then puts the setting back. */
async function withQueueCap<T>(cap: string | undefined, fn: () => Promise<T>): Promise<T> {
  const before = process.env.STRATA_ORG_MAX_QUEUED;
  if (cap === undefined) delete process.env.STRATA_ORG_MAX_QUEUED;
  else process.env.STRATA_ORG_MAX_QUEUED = cap;
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env.STRATA_ORG_MAX_QUEUED;
    else process.env.STRATA_ORG_MAX_QUEUED = before;
  }
}

/** Cancels every queued build of this file's organisations: no test sees another's jobs, and no worker finds them later. */
async function cancelQueued() {
  const orgIds = actors.map((a) => a.org.id);
  if (!orgIds.length) return;
  const queued = await db.select({ id: builds.id, orgId: builds.orgId }).from(builds).where(and(inArray(builds.orgId, orgIds), eq(builds.status, "queued")));
  for (const b of queued) await cancelBuild(db, actors.find((a) => a.org.id === b.orgId)!, b.id);
}

beforeAll(async () => {
  customer = await newActor();
  token = (await createToken(db, customer, { name: "versions" })).token;
  // One small package over the test base image, so a real build takes seconds.
  baseId = await publishTinyBase(db, { name: "tiny-versions", version: stamp, line: "hello from the versions test" });
});

afterEach(cancelQueued);

afterAll(async () => {
  await cancelQueued();
  await removeTestOrgs(db);
  await closeTestDb();
  await getPool().end();
});

describe("versions", () => {
  it("gives 10 concurrent Build clicks the versions r1.1 … r1.10, each with its own job", async () => {
    const flavour = await fork();
    const started = await Promise.all(Array.from({ length: 10 }, () => startBuild(db, customer, flavour.id, {})));
    expect(byNumber(started.map((b) => b.version))).toEqual(expected(10));
    expect(new Set(started.map((b) => b.jobId)).size).toBe(10);
    expect(byNumber(await versionsOf(flavour.id))).toEqual(expected(10));
  });

  it("gives 10 concurrent Build requests through the API and the verb distinct versions, all 201", async () => {
    const flavour = await fork();
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        i % 2 === 0
          ? call(flavourBuildsRoute.POST, { method: "POST", id: flavour.id, body: {} }).then((r) => {
              expect(r.status).toBe(201);
              return r.body.version as string;
            })
          : startBuild(db, customer, flavour.id, {}).then((b) => b.version),
      ),
    );
    expect(byNumber(results)).toEqual(expected(10));
  });

  it("numbers after the highest build, not after the row count, and leaves imports out", async () => {
    const flavour = await fork();
    const first = await startBuild(db, customer, flavour.id, {});
    // An import of r1.1 (r1.1-import.1) shares the revision but does not take a build number.
    await db.insert(builds).values({ orgId: customer.org.id, flavourId: flavour.id, revisionId: first.revisionId, revisionNumber: 1, version: "r1.1-import.1", kind: "import", status: "succeeded", parentBuildId: first.id, totalPackages: 0 });
    // A gap (say r1.2 was removed): the next build is after the highest, never a number already used.
    await db.insert(builds).values({ orgId: customer.org.id, flavourId: flavour.id, revisionId: first.revisionId, revisionNumber: 1, version: "r1.3", status: "failed", totalPackages: 0 });
    expect((await startBuild(db, customer, flavour.id, {})).version).toBe("r1.4");
    // Another revision counts from 1 again.
    await saveRevision(db, customer, flavour.id, { layers: [], message: "r2" });
    expect((await startBuild(db, customer, flavour.id, {})).version).toBe("r2.1");
  });

  it("has unique indexes that refuse a second row with a revision's version, or a flavour's", async () => {
    const flavour = await fork();
    const build = await startBuild(db, customer, flavour.id, {});
    const row = { orgId: customer.org.id, flavourId: flavour.id, revisionId: build.revisionId, revisionNumber: 1, version: build.version, status: "failed" as const, totalPackages: 0 };
    const sameRevision = await db.insert(builds).values(row).catch((e) => e);
    expect(sameRevision.cause?.code ?? sameRevision.code).toBe("23505");
    expect(sameRevision.cause?.constraint ?? sameRevision.constraint).toBe("builds_revision_version_idx");
    // Another revision of the same flavour may not reuse the tag either: the tag is per image repository (per flavour).
    await saveRevision(db, customer, flavour.id, { layers: [], message: "r2" });
    const [r2] = await db.select({ id: flavourRevisions.id }).from(flavourRevisions).where(and(eq(flavourRevisions.flavourId, flavour.id), eq(flavourRevisions.number, 2)));
    const sameFlavour = await db.insert(builds).values({ ...row, revisionId: r2.id, revisionNumber: 2 }).catch((e) => e);
    expect(sameFlavour.cause?.constraint ?? sameFlavour.constraint).toBe("builds_flavour_version_idx");
    expect(await versionsOf(flavour.id)).toEqual([build.version]);
  });

  it("answers a version taken by a row the lock does not see with a 409, not a 500, writing nothing", async () => {
    const flavour = await fork();
    const first = await startBuild(db, customer, flavour.id, {});
    // A row that takes r1.2 without being a build of the revision (so the numbering does not count it).
    await db.insert(builds).values({ orgId: customer.org.id, flavourId: flavour.id, revisionId: first.revisionId, revisionNumber: 1, version: "r1.2", kind: "import", status: "succeeded", parentBuildId: first.id, totalPackages: 0 });
    const before = await footprint(customer.org.id);
    const refused = await startBuild(db, customer, flavour.id, {}).catch((e) => e);
    expect(refused).toBeInstanceOf(ConflictError);
    expect(refused.message).toBe("Version r1.2 of this flavour was taken at the same moment by another build; press Build again.");
    const res = await call(flavourBuildsRoute.POST, { method: "POST", id: flavour.id, body: {} });
    expect(res.status).toBe(409);
    expect(res.body.error).toEqual({ code: "conflict", message: refused.message });
    expect(await footprint(customer.org.id)).toEqual(before);
  });
});

describe("the queued cap (STRATA_ORG_MAX_QUEUED)", () => {
  it("refuses a third queued build at a cap of 2 with a 429 and its message, writing nothing", async () => {
    const actor = await newActor();
    const actorToken = (await createToken(db, actor, { name: "cap" })).token;
    const flavour = await fork(actor);
    await withQueueCap("2", async () => {
      await startBuild(db, actor, flavour.id, {});
      expect((await call(flavourBuildsRoute.POST, { method: "POST", id: flavour.id, body: {}, token: actorToken })).status).toBe(201);
      const before = await footprint(actor.org.id);
      expect(before).toEqual({ builds: 2, packages: 2, jobs: 2 });

      const res = await call(flavourBuildsRoute.POST, { method: "POST", id: flavour.id, body: { cache: false }, token: actorToken });
      expect(res.status).toBe(429);
      expect(res.body.error).toEqual({ code: "rate_limited", message: "Your organisation has 2 builds waiting (the limit); wait for some to finish or cancel one." });
      expect(res.headers.get("retry-after")).toBe("60");
      await expect(startBuild(db, actor, flavour.id, {})).rejects.toBeInstanceOf(RateLimitedError);
      // Ten more at once: every one refused (the count is taken under the organisation's lock).
      const burst = await Promise.allSettled(Array.from({ length: 10 }, () => startBuild(db, actor, flavour.id, {})));
      expect(burst.every((r) => r.status === "rejected" && r.reason instanceof RateLimitedError)).toBe(true);
      expect(await footprint(actor.org.id)).toEqual(before);

      // Other organisations are not affected by this one's queue.
      expect((await startBuild(db, customer, (await fork()).id, {})).status).toBe("queued");
    });
  });

  it("counts only waiting builds: cancelling one makes room, and the Retry button is capped like Build", async () => {
    const actor = await newActor();
    const actorToken = (await createToken(db, actor, { name: "cap" })).token;
    const flavour = await fork(actor);
    await withQueueCap("2", async () => {
      const first = await startBuild(db, actor, flavour.id, {});
      await startBuild(db, actor, flavour.id, {});
      await cancelBuild(db, actor, first.id);
      // Retrying the cancelled build queues a new one: room for exactly that.
      const retried = await call(retryRoute.POST, { method: "POST", id: first.id, token: actorToken });
      expect(retried.status).toBe(201);
      const before = await footprint(actor.org.id);
      const again = await call(retryRoute.POST, { method: "POST", id: first.id, token: actorToken });
      expect(again.status).toBe(429);
      expect(again.body.error.message).toBe(queueFullMessage(2));
      await expect(retryBuild(db, actor, first.id)).rejects.toBeInstanceOf(RateLimitedError);
      expect(await footprint(actor.org.id)).toEqual(before);
    });
  });

  it("has the scheduler skip an organisation at its cap, with a log line, and start its rebuild once there is room", async () => {
    const actor = await newActor();
    const flavour = await fork(actor);
    const due = new Date(Date.now() - 3 * 24 * 3600 * 1000);
    await db.update(flavours).set({ scratchRebuildDays: 1, scratchRebuildFrom: due }).where(eq(flavours.id, flavour.id));
    await withQueueCap("1", async () => {
      const waiting = await startBuild(db, actor, flavour.id, {});
      const lines: string[] = [];
      const round = await startDueScratchRebuilds(db, { log: (l) => lines.push(l) });
      expect(round.filter((s) => s.flavourId === flavour.id)).toEqual([]);
      expect(lines).toContain(
        `organisation ${actor.org.id} has 1 builds waiting (the limit, STRATA_ORG_MAX_QUEUED): its due from-scratch rebuilds (flavour ${flavour.id} first) wait for a later round`,
      );
      // Nothing written, and the flavour stays due.
      expect(await versionsOf(flavour.id)).toEqual([waiting.version]);
      expect((await db.select({ from: flavours.scratchRebuildFrom }).from(flavours).where(eq(flavours.id, flavour.id)))[0].from).toEqual(due);

      await cancelBuild(db, actor, waiting.id);
      const next = await startDueScratchRebuilds(db);
      const mine = next.find((s) => s.flavourId === flavour.id);
      expect(mine?.buildId).toBeTruthy();
      expect((await getBuild(db, actor, mine!.buildId!)).scheduled).toBe(true);
    });
  });

  it("refuses a setting that is not a whole number of at least 1, naming the variable", async () => {
    for (const bad of ["0", "-3", "twenty", "2.5"]) await withQueueCap(bad, async () => expect(() => config.orgMaxQueued).toThrow(/^STRATA_ORG_MAX_QUEUED must be a whole number of at least 1/));
    await withQueueCap(undefined, async () => expect(config.orgMaxQueued).toBe(20));
    await withQueueCap(" ", async () => expect(config.orgMaxQueued).toBe(20));
  });
});

describe("fair ordering between organisations", () => {
  it("hands B's only build out before A's 2nd and 3rd, though A queued first", async () => {
    await cancelQueued();
    const a = await newActor();
    const b = await newActor();
    const flavourA = await fork(a);
    const flavourB = await fork(b);
    const a1 = await startBuild(db, a, flavourA.id, {});
    const a2 = await startBuild(db, a, flavourA.id, {});
    const a3 = await startBuild(db, a, flavourA.id, {});
    const b1 = await startBuild(db, b, flavourB.id, {});

    const priorities = await db.execute(sql`select id, priority from pgboss.job where id = any(${sql.param([a1.jobId, a2.jobId, a3.jobId, b1.jobId])}::uuid[])`);
    const priority = new Map((priorities.rows as Array<{ id: string; priority: number }>).map((r) => [r.id, r.priority]));
    expect([a1, a2, a3, b1].map((x) => priority.get(x.jobId!))).toEqual([0, -1, -2, 0]);

    // What a worker gets: pg-boss's own fetch, in its order (no handler runs; the jobs are then cancelled with their builds).
    const boss = new PgBoss({ connectionString: inject("databaseUrl"), schema: "pgboss", max: 1, supervise: false, schedule: false, migrate: false });
    await boss.start();
    try {
      // One at a time, as a worker with batchSize 1 takes them (a batch comes back in no particular order).
      const mine = new Set([a1.id, a2.id, a3.id, b1.id]);
      const order: string[] = [];
      for (let i = 0; i < 100 && order.length < mine.size; i++) {
        const [job] = await boss.fetch<{ buildId: string }>(QUEUES.build, { batchSize: 1 });
        if (!job) break;
        if (mine.has(job.data.buildId)) order.push(job.data.buildId);
      }
      expect(order).toEqual([a1.id, b1.id, a2.id, a3.id]);
    } finally {
      await boss.stop({ graceful: false, wait: true });
    }
  });
});

describe("a renamed flavour's images", () => {
  let stack: BuildTestStack;
  beforeAll(async () => {
    stack = await startBuildTestStack(dataDir);
  }, 600_000);
  afterAll(async () => {
    await stack?.stop();
  });

  async function tags(repository: string): Promise<string[] | null> {
    const res = await fetch(`${parseRegistry(stack.registry.url).apiBase}/v2/${repository}/tags/list`);
    if (res.status === 404) return null;
    expect(res.status).toBe(200);
    return ((await res.json()) as { tags: string[] | null }).tags ?? [];
  }

  it("still go to its original repository, and its old name cannot be taken by a new flavour", async () => {
    const a = `ren-${stamp}-${crypto.randomUUID().slice(0, 4)}`;
    const flavour = await fork(customer, a);
    await updateFlavour(db, customer, flavour.id, { name: `${a}-b` });
    await expect(fork(customer, a)).rejects.toThrow(`The image repository ${customer.org.slug}/${a} belongs to the flavour "${a}-b"`);

    const build = await startBuild(db, customer, flavour.id, {});
    await runBuild(testBuildDeps({ db, docker: stack.docker, registryUrl: stack.registry.url, dataDir }), build.id);
    const done = await getBuild(db, customer, build.id);
    expect(done.error).toBeNull();
    expect(done.status).toBe("succeeded");
    expect(done.imageRef).toBe(`${stack.registry.url}/${customer.org.slug}/${a}:r1.1`);
    expect(await tags(`${customer.org.slug}/${a}`)).toContain("r1.1");
    // The package repository is beside the images, under the same kept name.
    expect(await tags(`${customer.org.slug}/${a}-repo`)).toContain("1");
    expect(done.repositoryRevision).toBe(1);
    // Nothing under the new name.
    expect(await tags(`${customer.org.slug}/${a}-b`)).toBeNull();
  });
});
