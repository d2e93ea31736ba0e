// Asking for disk images against the real PostgreSQL, through the verbs and the REST route handlers: every refusal
// (build not succeeded, another organisation's build, bad size or format) writes no row and queues no job; a good
// request queues exactly one, asking again returns it; the log and download routes of one image.
import crypto from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { count, eq, inArray, sql } from "drizzle-orm";
import { closeTestDb, insertStandInBuild, makeActor, removeTestOrgs, testDb } from "../testing/fixtures";
import { getPool } from "../db";
import { artefacts, buildPackages, diskImageLogs, diskImages, type BuildStatus } from "../db/schema";
import { createToken } from "../auth/tokens";
import { listBaseManifests } from "../base-manifests/base-manifests";
import { createFlavour } from "../flavours/flavours";
import { ConflictError, NotFoundError, ValidationError } from "../errors";
import { getSenderBoss, QUEUES } from "../jobs/boss";
import { getDiskImage, getDiskImageFile, getDiskImageLogs, listDiskImages, requestDiskImage } from "./disk-images";
import { formatBytes, GiB, minimumDiskBytes } from "./layout";
import { diskImageStorePath } from "./store";
import * as buildDiskImagesRoute from "@/app/api/v1/builds/[id]/disk-images/route";
import * as diskImageRoute from "@/app/api/v1/disk-images/[id]/route";
import * as diskImageLogsRoute from "@/app/api/v1/disk-images/[id]/logs/route";
import * as downloadRoute from "@/app/api/v1/disk-images/[id]/download/[format]/route";

process.env.DATABASE_URL = inject("databaseUrl");
process.env.STRATA_LOG_REQUESTS = "0";
const previousMax = process.env.STRATA_DISK_IMAGE_MAX_BYTES;
const previousDataDir = process.env.STRATA_DATA_DIR;
process.env.STRATA_DISK_IMAGE_MAX_BYTES = "8G";

const db = testDb();
// What the stand-in builds' root filesystem holds: about a Debian with systemd and a kernel.
const ROOTFS = { bytes: 700_000_000, files: 50_000 };
const madeArtefacts: string[] = [];
const madeImages: string[] = [];
let baseId: string;
let dataDir: string;

beforeAll(async () => {
  baseId = (await listBaseManifests(db)).find((b) => b.name === "strata-base")!.id;
  // The download route reads this node's store under the data directory: a throwaway one.
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "strata-disk-images-"));
  process.env.STRATA_DATA_DIR = dataDir;
});

afterAll(async () => {
  // The jobs stay queued (no worker runs here): a worker in a later suite must not pick up images that no longer exist.
  if (madeImages.length) await db.execute(sql`delete from pgboss.job where name = ${QUEUES.diskImage} and data->>'diskImageId' = any(${sql.param(madeImages)})`);
  // Stand-in builds without images: the repository backfill must not find them later in the run.
  await removeTestOrgs(db);
  if (madeArtefacts.length) await db.delete(artefacts).where(inArray(artefacts.digest, madeArtefacts));
  await fs.rm(dataDir, { recursive: true, force: true });
  restore("STRATA_DISK_IMAGE_MAX_BYTES", previousMax);
  restore("STRATA_DATA_DIR", previousDataDir);
  await (await getSenderBoss()).stop({ graceful: false, wait: true });
  await closeTestDb();
  await getPool().end();
});

function restore(name: string, value: string | undefined) {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const randomDigest = () => `sha256:${crypto.randomBytes(32).toString("hex")}`;

/** A customer, a token, a flavour and a build of it whose one package's artefact holds ROOTFS. */
async function customerWithBuild(status: BuildStatus = "succeeded") {
  const actor = await makeActor(db);
  const token = (await createToken(db, actor, { name: "t" })).token;
  const flavour = await createFlavour(db, actor, { baseManifestId: baseId, name: `fl-${crypto.randomUUID().slice(0, 8)}`, description: "" });
  const build = await insertStandInBuild(db, actor, flavour, status);
  const digest = randomDigest();
  madeArtefacts.push(digest);
  await db.insert(artefacts).values({ digest, size: 250_000_000, uncompressedSize: ROOTFS.bytes, fileCount: ROOTFS.files, compression: "zstd", deleted: [] });
  await db.insert(buildPackages).values({ buildId: build.id, position: 0, packageId: "system/base", version: "1", fromBase: true, status: "built", artefactDigest: digest });
  return { actor, token, flavour, build };
}

/** Disk-image jobs in pg-boss's table (every state: a queued job is not fetched here, no worker runs). */
async function queuedJobs(): Promise<number> {
  const result = await db.execute<{ n: string }>(sql`select count(*)::text as n from pgboss.job where name = ${QUEUES.diskImage}`);
  return Number(result.rows[0].n);
}

async function diskImageRows(buildId: string): Promise<number> {
  return (await db.select({ n: count() }).from(diskImages).where(eq(diskImages.buildId, buildId)))[0].n;
}

/** The thrown error, so a test can check its class, status and message. */
async function refusal(promise: Promise<unknown>): Promise<Error & { status?: number }> {
  try {
    await promise;
  } catch (err) {
    return err as Error & { status?: number };
  }
  throw new Error("expected the request to be refused");
}

type Handler = (req: Request, ctx: { params: Promise<Record<string, string>> }) => Promise<Response>;

const call = (handler: Handler, init: { token: string; method?: string; body?: unknown; params: Record<string, string>; query?: string; headers?: Record<string, string> }) =>
  handler(
    new Request(`https://localhost/api/v1/x${init.query ?? ""}`, {
      method: init.method ?? "GET",
      headers: { authorization: `Bearer ${init.token}`, ...(init.body !== undefined ? { "content-type": "application/json" } : {}), ...init.headers },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    }),
    { params: Promise.resolve(init.params) },
  );

describe("requestDiskImage refuses, writing no row and queueing no job", () => {
  it("a build that has not succeeded: 409", async () => {
    for (const status of ["running", "failed"] as const) {
      const { actor, build } = await customerWithBuild(status);
      const jobsBefore = await queuedJobs();
      const err = await refusal(requestDiskImage(db, actor, build.id, {}));
      expect(err, status).toBeInstanceOf(ConflictError);
      expect(err.status).toBe(409);
      expect(err.message).toMatch(new RegExp(`is ${status}; only a succeeded build`));
      expect(await diskImageRows(build.id)).toBe(0);
      expect(await queuedJobs()).toBe(jobsBefore);
    }
  });

  it("another organisation's build: 404, as if it did not exist, through the verbs and the API", async () => {
    const owner = await customerWithBuild();
    const stranger = await makeActor(db);
    const strangerToken = (await createToken(db, stranger, { name: "s" })).token;
    const jobsBefore = await queuedJobs();
    const err = await refusal(requestDiskImage(db, stranger, owner.build.id, {}));
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toBe("No such build.");
    await expect(listDiskImages(db, stranger, owner.build.id)).rejects.toBeInstanceOf(NotFoundError);
    const res = await call(buildDiskImagesRoute.POST, { token: strangerToken, method: "POST", params: { id: owner.build.id }, body: {} });
    expect(res.status).toBe(404);
    expect(await diskImageRows(owner.build.id)).toBe(0);
    expect(await queuedJobs()).toBe(jobsBefore);

    // And an image of the owner's stays theirs.
    const { diskImage } = await requestDiskImage(db, owner.actor, owner.build.id, {});
    madeImages.push(diskImage.id);
    await expect(getDiskImage(db, stranger, diskImage.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(getDiskImageLogs(db, stranger, diskImage.id)).rejects.toBeInstanceOf(NotFoundError);
    expect((await call(diskImageRoute.GET, { token: strangerToken, params: { id: diskImage.id } })).status).toBe(404);
    expect((await call(downloadRoute.GET, { token: strangerToken, params: { id: diskImage.id, format: "raw" } })).status).toBe(404);
  });

  it.each<[string, unknown, RegExp]>([
    ["a size below the build's minimum", { size: "64M" }, new RegExp(`64 MiB is too small for this build.*the smallest disk is ${escapeRegExp(formatBytes(minimumDiskBytes(ROOTFS)))}`)],
    ["a size above STRATA_DISK_IMAGE_MAX_BYTES", { size: "9G" }, new RegExp(`at most ${escapeRegExp(formatBytes(8 * GiB))} here; ${escapeRegExp(formatBytes(9 * GiB))} was asked for`)],
    ["an unknown format", { formats: ["raw", "vmdk"] }, /unknown format "vmdk"; the formats are raw and qcow2/],
    ["no format at all", { formats: [] }, /choose at least one format/],
    ["a size that is not one", { size: "lots" }, /a size is a number of bytes or a number with a unit/],
    ["a size of no bytes", { size: 0 }, /a size is a number of bytes/],
    ["a field it does not know", { sizeBytes: 4 * GiB }, /sizeBytes/],
  ])("%s: 422", async (_case, input, message) => {
    const { actor, token, build } = await customerWithBuild();
    const jobsBefore = await queuedJobs();
    const err = await refusal(requestDiskImage(db, actor, build.id, input));
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.status).toBe(422);
    expect(err.message).toMatch(message);
    // The API says the same, with the field the form marks.
    const res = await call(buildDiskImagesRoute.POST, { token, method: "POST", params: { id: build.id }, body: input });
    expect(res.status).toBe(422);
    const body = (await res.json()) as { error: { code: string; message: string; details?: { issues?: Array<{ path: string }> } } };
    expect(body.error.code).toBe("validation_failed");
    expect(body.error.message).toMatch(message);
    expect(await diskImageRows(build.id)).toBe(0);
    expect(await queuedJobs()).toBe(jobsBefore);
  });

  it("names the minimum in the size field's issue", async () => {
    const { token, build } = await customerWithBuild();
    const res = await call(buildDiskImagesRoute.POST, { token, method: "POST", params: { id: build.id }, body: { size: "64M" } });
    const body = (await res.json()) as { error: { details: { issues: Array<{ path: string; message: string }>; minimum: number } } };
    expect(body.error.details.issues).toEqual([{ path: "size", message: `at least ${formatBytes(minimumDiskBytes(ROOTFS))}` }]);
    expect(body.error.details.minimum).toBe(minimumDiskBytes(ROOTFS));
  });
});

describe("a disk image of a succeeded build", () => {
  it("queues exactly one job with its row; asking again for the same returns it (200) without another job, unless it failed", async () => {
    const { actor, token, build } = await customerWithBuild();
    const jobsBefore = await queuedJobs();
    const first = await call(buildDiskImagesRoute.POST, { token, method: "POST", params: { id: build.id }, body: {} });
    expect(first.status).toBe(201);
    const made = (await first.json()) as { id: string; status: string; sizeBytes: number; formats: string[]; layout: { partitions: Array<{ name: string }> } };
    // The job is the worker's business: the API does not say which one it is.
    expect(made).not.toHaveProperty("jobId");
    madeImages.push(made.id);
    expect(made).toMatchObject({ status: "queued", formats: ["raw", "qcow2"], buildId: build.id });
    expect(made.sizeBytes).toBeGreaterThan(minimumDiskBytes(ROOTFS));
    expect(made.layout.partitions.map((p) => p.name)).toEqual(["strata-esp", "bios", "strata-a", "strata-b", "strata-state"]);
    expect(await queuedJobs()).toBe(jobsBefore + 1);
    const job = await db.execute<{ data: { diskImageId: string }; id: string }>(sql`select id::text as id, data from pgboss.job where name = ${QUEUES.diskImage} and data->>'diskImageId' = ${made.id}`);
    expect(job.rows).toHaveLength(1);
    expect(job.rows[0].id).toBe((await db.select({ jobId: diskImages.jobId }).from(diskImages).where(eq(diskImages.id, made.id)))[0].jobId);

    // The same request in other words (the default size, the formats in another order): the same image, no new job.
    const again = await requestDiskImage(db, actor, build.id, { size: made.sizeBytes, formats: ["qcow2", "raw"] });
    expect(again.created).toBe(false);
    expect(again.diskImage.id).toBe(made.id);
    const againApi = await call(buildDiskImagesRoute.POST, { token, method: "POST", params: { id: build.id }, body: { formats: ["raw", "qcow2"] } });
    expect(againApi.status).toBe(200);
    expect(((await againApi.json()) as { id: string }).id).toBe(made.id);
    expect(await queuedJobs()).toBe(jobsBefore + 1);
    expect(await diskImageRows(build.id)).toBe(1);

    // A failed one is not reused: asking again makes a new one.
    const retried = await customerWithBuild();
    const failed = await requestDiskImage(db, retried.actor, retried.build.id, {});
    madeImages.push(failed.diskImage.id);
    await db.update(diskImages).set({ status: "failed", error: "this image has no kernel" }).where(eq(diskImages.id, failed.diskImage.id));
    const afterFailure = await requestDiskImage(db, retried.actor, retried.build.id, {});
    madeImages.push(afterFailure.diskImage.id);
    expect(afterFailure.created).toBe(true);
    expect(afterFailure.diskImage.id).not.toBe(failed.diskImage.id);
    expect(await queuedJobs()).toBe(jobsBefore + 3);

    // Another size is another image.
    const other = await requestDiskImage(db, actor, build.id, { size: "6G", formats: ["raw"] });
    madeImages.push(other.diskImage.id);
    expect(other.created).toBe(true);
    expect(other.diskImage.sizeBytes).toBe(6 * GiB);
    expect(await queuedJobs()).toBe(jobsBefore + 4);

    const list = await call(buildDiskImagesRoute.GET, { token, params: { id: build.id } });
    expect(((await list.json()) as { diskImages: Array<{ id: string }> }).diskImages.map((d) => d.id)).toEqual([other.diskImage.id, made.id]);
    const one = await call(diskImageRoute.GET, { token, params: { id: made.id } });
    expect(await one.json()).toMatchObject({ id: made.id, build: { id: build.id, version: build.version }, flavour: { id: build.flavourId } });
  });

  it("cannot be downloaded before it has succeeded: 409", async () => {
    const { actor, token, build } = await customerWithBuild();
    const { diskImage } = await requestDiskImage(db, actor, build.id, { formats: ["raw"] });
    madeImages.push(diskImage.id);
    const err = await refusal(getDiskImageFile(db, actor, diskImage.id, "raw"));
    expect(err).toBeInstanceOf(ConflictError);
    expect(err.status).toBe(409);
    expect(err.message).toMatch(/is queued; it can be downloaded once it has succeeded/);
    const res = await call(downloadRoute.GET, { token, params: { id: diskImage.id, format: "raw" } });
    expect(res.status).toBe(409);
  });

  it("tails the job's log after the last line seen", async () => {
    const { actor, token, build } = await customerWithBuild();
    const { diskImage } = await requestDiskImage(db, actor, build.id, {});
    madeImages.push(diskImage.id);
    const rows = await db
      .insert(diskImageLogs)
      .values(["pulling the image", "writing slot A", "installing grub"].map((line) => ({ diskImageId: diskImage.id, line })))
      .returning({ id: diskImageLogs.id });
    const all = await call(diskImageLogsRoute.GET, { token, params: { id: diskImage.id } });
    expect(all.status).toBe(200);
    const allBody = (await all.json()) as { status: string; lines: Array<{ id: number; line: string }> };
    expect(allBody.status).toBe("queued");
    expect(allBody.lines.map((l) => l.line)).toEqual(["pulling the image", "writing slot A", "installing grub"]);
    const after = await call(diskImageLogsRoute.GET, { token, params: { id: diskImage.id }, query: `?after=${rows[0].id}&limit=1` });
    expect(((await after.json()) as { lines: Array<{ line: string }> }).lines.map((l) => l.line)).toEqual(["writing slot A"]);
    const bad = await call(diskImageLogsRoute.GET, { token, params: { id: diskImage.id }, query: "?after=-1" });
    expect(bad.status).toBe(400);
  });

  it("downloads a made file from this node's store: whole, ranged, not modified, unknown format", async () => {
    const { actor, token, build, flavour } = await customerWithBuild();
    const { diskImage } = await requestDiskImage(db, actor, build.id, { formats: ["raw"] });
    madeImages.push(diskImage.id);
    // What the worker leaves: the file in the store and the image succeeded with it.
    const bytes = crypto.randomBytes(100_000);
    const digest = `sha256:${crypto.createHash("sha256").update(bytes).digest("hex")}`;
    const stored = diskImageStorePath(dataDir, digest);
    await fs.mkdir(path.dirname(stored), { recursive: true });
    await fs.writeFile(stored, bytes);
    await db
      .update(diskImages)
      .set({ status: "succeeded", progress: 100, files: [{ format: "raw", digest, size: bytes.length, mediaType: "application/vnd.strata.disk.raw" }], finishedAt: new Date() })
      .where(eq(diskImages.id, diskImage.id));

    const whole = await call(downloadRoute.GET, { token, params: { id: diskImage.id, format: "raw" } });
    expect(whole.status).toBe(200);
    expect(whole.headers.get("content-disposition")).toBe(`attachment; filename="${flavour.name}-${build.version}.img"`);
    expect(whole.headers.get("x-checksum-sha256")).toBe(digest.slice("sha256:".length));
    expect(Buffer.from(await whole.arrayBuffer()).equals(bytes)).toBe(true);

    const ranged = await call(downloadRoute.GET, { token, params: { id: diskImage.id, format: "raw" }, headers: { range: "bytes=-1000" } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get("content-range")).toBe(`bytes 99000-99999/${bytes.length}`);
    expect(Buffer.from(await ranged.arrayBuffer()).equals(bytes.subarray(99_000))).toBe(true);

    const outside = await call(downloadRoute.GET, { token, params: { id: diskImage.id, format: "raw" }, headers: { range: "bytes=200000-" } });
    expect(outside.status).toBe(416);
    expect(outside.headers.get("content-range")).toBe(`bytes */${bytes.length}`);
    expect(((await outside.json()) as { error: { code: string } }).error.code).toBe("range_not_satisfiable");

    const cached = await call(downloadRoute.GET, { token, params: { id: diskImage.id, format: "raw" }, headers: { "if-none-match": `"${digest}"` } });
    expect(cached.status).toBe(304);

    const head = await call(downloadRoute.HEAD, { token, method: "HEAD", params: { id: diskImage.id, format: "raw" } });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe(String(bytes.length));

    expect((await call(downloadRoute.GET, { token, params: { id: diskImage.id, format: "qcow2" } })).status).toBe(404);
    expect((await call(downloadRoute.GET, { token, params: { id: diskImage.id, format: "vmdk" } })).status).toBe(404);
  });

  it("answers 404 when the file is neither on this node nor in a registry artifact", async () => {
    const { actor, token, build } = await customerWithBuild();
    const { diskImage } = await requestDiskImage(db, actor, build.id, { formats: ["raw"] });
    madeImages.push(diskImage.id);
    await db
      .update(diskImages)
      .set({ status: "succeeded", files: [{ format: "raw", digest: randomDigest(), size: 10, mediaType: "application/octet-stream" }] })
      .where(eq(diskImages.id, diskImage.id));
    const res = await call(downloadRoute.GET, { token, params: { id: diskImage.id, format: "raw" } });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/neither on this server nor in the registry/);
  });
});
