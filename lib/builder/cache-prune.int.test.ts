// Cache pruning against the real engine, registry and database: small cache images (loaded, labelled like the
// builder's and carrying this run's label so nothing else on the shared engine is looked at) with old and recent
// use; the prune removes exactly the old ones nothing published needs, in the engine and in the registry's shared
// cache, and records the run. The admin routes refuse customers and show the numbers.
import crypto from "node:crypto";
import path from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { and, count, eq } from "drizzle-orm";
import type Dockerode from "dockerode";
import tar from "tar-stream";
import { closeTestDb, insertStandInBuild, makeActor, removeTestOrgs, testDb } from "../testing/fixtures";
import { startBuildTestStack, type BuildTestStack } from "../testing/build-deps";
import { getPool } from "../db";
import { auditLog, buildPackages, builds, cachePrunes, channels, releases, type BuildStatus } from "../db/schema";
import type { Actor } from "../auth/actor";
import { createToken } from "../auth/tokens";
import { ensureBundledBaseManifests, listBaseManifests } from "../base-manifests/base-manifests";
import { createFlavour } from "../flavours/flavours";
import { RegistryClient } from "../registry/client";
import { digestOf } from "../registry/digest";
import { followProgress } from "./engine/streams";
import { cacheTag, LABEL } from "./engine/images";
import { CACHE_PRUNE_LOCK, engineCacheUsage, pruneCache } from "./cache-prune";
import * as cacheRoute from "@/app/api/v1/admin/cache/route";
import * as pruneRoute from "@/app/api/v1/admin/cache/prune/route";

process.env.DATABASE_URL = inject("databaseUrl");
process.env.STRATA_LOG_REQUESTS = "0";
const db = testDb();
const dataDir = path.resolve(".data/test");
const run = crypto.randomUUID().slice(0, 8);
/** Only images with this label are this file's; the prune and the sums below look at no other. */
const RUN_LABEL = `strata.prune-test=${run}`;
/** This file's own repository for the shared cache: the registry is shared too. */
const cacheRepository = `strata-cache-prune-${run}`;
process.env.STRATA_CACHE_REPOSITORY = cacheRepository;
process.env.STRATA_CACHE_MAX_AGE_DAYS = "14";
const DAY = 24 * 3600 * 1000;

let stack: BuildTestStack;
let docker: Dockerode;
let registry: RegistryClient;
let customer: Actor;
let admin: Actor;
let customerToken: string;
let adminToken: string;
let baseId: string;

beforeAll(async () => {
  stack = await startBuildTestStack(dataDir);
  docker = stack.docker;
  registry = new RegistryClient(stack.registry.url);
  await ensureBundledBaseManifests(db);
  baseId = (await listBaseManifests(db)).find((b) => b.name === "strata-base")!.id;
  customer = await makeActor(db);
  admin = await makeActor(db, { role: "admin" });
  customerToken = (await createToken(db, customer, { name: "t" })).token;
  adminToken = (await createToken(db, admin, { name: "a" })).token;
});

afterAll(async () => {
  const left = await docker.listImages({ filters: JSON.stringify({ label: [RUN_LABEL] }) });
  for (const image of left) await docker.getImage(image.Id).remove({ force: true }).catch(() => {});
  await removeTestOrgs(db);
  await closeTestDb();
  await getPool().end();
});

const newKey = () => crypto.randomBytes(32).toString("hex");

/** A one-layer image tagged strata-cache:<key>, labelled as the builder labels its cache images (docker load of a tar). */
async function cacheImage(key: string): Promise<string> {
  const layer = await tarOf([{ name: `prune-test/${key}`, body: crypto.randomBytes(64 * 1024) }]);
  const diffId = digestOf(layer);
  const config = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      created: new Date().toISOString(),
      config: { Labels: { [LABEL.managed]: "1", [LABEL.role]: "cache", [LABEL.cacheKey]: key, [LABEL.package]: "layer/prune-test", "strata.prune-test": run } },
      rootfs: { type: "layers", diff_ids: [diffId] },
      history: [{ created: new Date().toISOString(), created_by: "prune test" }],
    }),
  );
  const configName = `${digestOf(config).slice(7)}.json`;
  const archive = await tarOf([
    { name: "layer/layer.tar", body: layer },
    { name: configName, body: config },
    { name: "manifest.json", body: Buffer.from(JSON.stringify([{ Config: configName, RepoTags: [cacheTag(key)], Layers: ["layer/layer.tar"] }])) },
  ]);
  await followProgress((await docker.loadImage(Readable.from([archive]) as unknown as NodeJS.ReadableStream)) as unknown as NodeJS.ReadableStream);
  return (await docker.getImage(cacheTag(key)).inspect()).Id;
}

/** A tag in this file's shared cache repository: a one-layer manifest whose config names the key. */
async function sharedTag(tag: string): Promise<void> {
  const layer = Buffer.from(crypto.randomBytes(1024));
  const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", created: new Date().toISOString(), config: { Labels: { [LABEL.cacheKey]: tag } }, rootfs: { type: "layers", diff_ids: [digestOf(layer)] } }));
  await registry.putBlob(cacheRepository, digestOf(layer), layer);
  await registry.putBlob(cacheRepository, digestOf(config), config);
  const manifest = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: digestOf(config), size: config.length },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: digestOf(layer), size: layer.length }],
  };
  await registry.putManifest(cacheRepository, tag, Buffer.from(JSON.stringify(manifest)), manifest.mediaType);
}

function tarOf(entries: Array<{ name: string; body: Buffer }>): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) pack.entry({ name: e.name, size: e.body.length, mode: 0o644, mtime: new Date(0) }, e.body);
  pack.finalize();
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    pack.on("data", (c: unknown) => void chunks.push(c as Buffer));
    pack.on("end", () => resolve(Buffer.concat(chunks)));
    pack.on("error", reject);
  });
}


const hasImage = async (key: string) => (await docker.getImage(cacheTag(key)).inspect().then(() => true, () => false));
const hasTag = async (tag: string) => (await registry.headManifest(cacheRepository, tag)) !== null;

/** A build of a new flavour (or `flavour`) that used `keys`, `daysAgo` days ago. */
async function buildThatUsed(keys: string[], opts: { daysAgo: number; status: BuildStatus; flavour?: Awaited<ReturnType<typeof createFlavour>> }) {
  const flavour = opts.flavour ?? (await createFlavour(db, customer, { baseManifestId: baseId, name: `prune-${crypto.randomUUID().slice(0, 8)}`, description: "" }));
  const build = await insertStandInBuild(db, customer, flavour, opts.status);
  const at = new Date(Date.now() - opts.daysAgo * DAY);
  await db.update(builds).set({ createdAt: at, startedAt: at }).where(eq(builds.id, build.id));
  await db.insert(buildPackages).values(keys.map((cacheKey, position) => ({ buildId: build.id, position, packageId: `layer/p${position}`, version: "1", fromBase: false, status: "built" as const, cacheKey, startedAt: at })));
  return { flavour, build };
}

type Handler = (req: Request, ctx: { params: Promise<Record<string, string>> }) => Promise<Response>;
const call = (handler: Handler, token: string, method = "GET") =>
  handler(new Request("https://localhost/api/v1/admin/cache", { method, headers: { authorization: `Bearer ${token}` } }), { params: Promise.resolve({}) });

const keys = { old: newKey(), recent: newKey(), released: newKey(), latest: newKey(), unknown: newKey(), running: newKey() };

describe("pruning the build cache", () => {
  beforeAll(async () => {
    for (const key of Object.values(keys)) await cacheImage(key);
    for (const key of [keys.old, keys.recent]) await sharedTag(key);
    await sharedTag("base-strata-debian-bookworm");

    await buildThatUsed([keys.old], { daysAgo: 30, status: "failed" });
    await buildThatUsed([keys.recent], { daysAgo: 2, status: "failed" });
    // A flavour whose older succeeded build is on a channel and whose newer one is its latest: both are kept.
    const { flavour, build: released } = await buildThatUsed([keys.released], { daysAgo: 40, status: "succeeded" });
    await buildThatUsed([keys.latest], { daysAgo: 30, status: "succeeded", flavour });
    const [channel] = await db.insert(channels).values({ orgId: customer.org.id, flavourId: flavour.id, name: `prune-${run}` }).returning();
    await db.insert(releases).values({ orgId: customer.org.id, channelId: channel.id, buildId: released.id, version: "1.0.0", status: "approved", imageRef: released.imageRef!, imageDigest: released.imageDigest! });
    // Started long ago and still running (a stuck build): its keys stay until it ends.
    await buildThatUsed([keys.running], { daysAgo: 30, status: "running" });
  });

  it("removes exactly the old, unprotected images and tags, and records the run", async () => {
    const before = await engineCacheUsage(docker, { labels: [RUN_LABEL] });
    expect(before.images).toBe(6);
    const result = await pruneCache({ db, pool: getPool(), docker, registry, cacheRepository, maxAgeDays: 14, workerId: "test", labels: [RUN_LABEL] });
    expect(result).not.toBeNull();

    expect(await hasImage(keys.old)).toBe(false);
    for (const key of [keys.recent, keys.released, keys.latest, keys.unknown, keys.running]) expect(await hasImage(key)).toBe(true);
    expect(await hasTag(keys.old)).toBe(false);
    expect(await hasTag(keys.recent)).toBe(true);
    expect(await hasTag("base-strata-debian-bookworm")).toBe(true);

    const [row] = await db.select().from(cachePrunes).where(eq(cachePrunes.id, result!.id));
    expect(row).toMatchObject({ removedImages: 1, removedTags: 1, maxAgeDays: 14, cacheImages: 5, error: null, workerId: "test" });
    expect(row.freedBytes).toBeGreaterThanOrEqual(64 * 1024);
    expect(row.cacheBytes).toBe((await engineCacheUsage(docker, { labels: [RUN_LABEL] })).bytes);
    expect(row.finishedAt).not.toBeNull();
  });

  it("runs once at a time, and the schedule skips a run that is not due", async () => {
    const deps = { db, pool: getPool(), docker, registry, cacheRepository, maxAgeDays: 14, labels: [RUN_LABEL] };
    expect(await pruneCache(deps, { ifOlderThanMs: 3600_000 })).toBeNull();
    const holder = await getPool().connect();
    try {
      await holder.query("select pg_advisory_lock($1)", [CACHE_PRUNE_LOCK]);
      expect(await pruneCache(deps)).toBeNull();
    } finally {
      await holder.query("select pg_advisory_unlock($1)", [CACHE_PRUNE_LOCK]);
      holder.release();
    }
  });

  it("keeps a cache image a build container uses", async () => {
    const key = newKey();
    await cacheImage(key);
    await buildThatUsed([key], { daysAgo: 30, status: "failed" });
    // A container made from it (not started: the image has no program), as a build step's container would be.
    const container = await docker.createContainer({ Image: cacheTag(key), Cmd: ["/none"], Labels: { "strata.prune-test": run } });
    try {
      const result = await pruneCache({ db, pool: getPool(), docker, registry, cacheRepository, maxAgeDays: 14, labels: [RUN_LABEL] });
      expect(result?.error).toBeNull();
      expect(await hasImage(key)).toBe(true);
    } finally {
      await container.remove({ force: true });
    }
  });
});

describe("the admin routes", () => {
  it("refuse customers with 403 and change nothing", async () => {
    const runs = async () => (await db.select({ n: count() }).from(cachePrunes))[0].n;
    const before = await runs();
    for (const [handler, method] of [[cacheRoute.GET, "GET"], [pruneRoute.POST, "POST"]] as const) {
      const res = await call(handler, customerToken, method);
      expect(res.status).toBe(403);
      expect((await res.json()).error.message).toMatch(/needs an administrator/);
    }
    expect(await runs()).toBe(before);
  });

  it("show an admin the cache size and the last prune, and Prune now removes what is stale, audit-logged", async () => {
    const stale = newKey();
    await cacheImage(stale);
    await buildThatUsed([stale], { daysAgo: 20, status: "failed" });

    const overview = await call(cacheRoute.GET, adminToken);
    expect(overview.status).toBe(200);
    const shown = await overview.json();
    // The whole engine's cache: this file's images and whatever else the shared engine holds.
    expect(shown.usage.images).toBeGreaterThanOrEqual(6);
    expect(shown.usage.bytes).toBeGreaterThan(0);
    expect(shown.settings).toEqual({ maxAgeDays: 14, intervalHours: 6 });
    expect(shown.lastPrune).toMatchObject({ maxAgeDays: 14 });

    const pruned = await call(pruneRoute.POST, adminToken, "POST");
    expect(pruned.status).toBe(200);
    const { prune } = await pruned.json();
    expect(prune.removedImages).toBeGreaterThanOrEqual(1);
    expect(await hasImage(stale)).toBe(false);
    expect(await hasImage(keys.recent)).toBe(true);
    const [audit] = await db.select().from(auditLog).where(and(eq(auditLog.action, "cache.prune"), eq(auditLog.subject, prune.id)));
    expect(audit).toMatchObject({ actorUserId: admin.user.id });

    const after = await (await call(cacheRoute.GET, adminToken)).json();
    expect(after.lastPrune.id).toBe(prune.id);
  });
});

