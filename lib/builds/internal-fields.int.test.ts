// What runs a build stays on the server: the worker, its pg-boss job, the claim counter, the heartbeat and the
// package's committed image never reach a client — not through GET /api/v1/builds/{id}, cancel, retry, the event
// stream, the build page's first render, nor the disk image routes. The rows below carry every one of them.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { eq } from "drizzle-orm";
import { closeTestDb, insertStandInBuild, makeActor, removeTestOrgs, testDb } from "../testing/fixtures";
import { getPool } from "../db";
import { artefacts, buildLogs, buildPackages, builds, diskImages } from "../db/schema";
import type { Actor } from "../auth/actor";
import { createToken } from "../auth/tokens";
import { ensureBundledBaseManifests, listBaseManifests } from "../base-manifests/base-manifests";
import { createFlavour } from "../flavours/flavours";
import { getBuild } from "./builds";
import { liveBuildEvents } from "./live";
import { shownBuild } from "./view";
import * as buildRoute from "@/app/api/v1/builds/[id]/route";
import * as cancelRoute from "@/app/api/v1/builds/[id]/cancel/route";
import * as retryRoute from "@/app/api/v1/builds/[id]/retry/route";
import * as eventsRoute from "@/app/api/v1/builds/[id]/events/route";
import * as buildDiskImagesRoute from "@/app/api/v1/builds/[id]/disk-images/route";
import * as diskImageRoute from "@/app/api/v1/disk-images/[id]/route";

process.env.DATABASE_URL = inject("databaseUrl");
process.env.STRATA_LOG_REQUESTS = "0";

/** Keys no client gets, at any depth. */
const INTERNAL_KEYS = ["workerId", "jobId", "attempt", "heartbeatAt", "imageId", "containerId", "revisionId"];
const WORKER = "worker-host.internal:4242";
const JOB = "8d0f7a5e-0000-4000-8000-00000000b055";
const PACKAGE_IMAGE = `sha256:${"c".repeat(64)}`;

const db = testDb();
let customer: Actor;
let token: string;
let baseId: string;
const openReaders: Array<ReadableStreamDefaultReader<Uint8Array>> = [];

beforeAll(async () => {
  await ensureBundledBaseManifests(db);
  baseId = (await listBaseManifests(db)).find((b) => b.name === "strata-base")!.id;
  customer = await makeActor(db);
  token = (await createToken(db, customer, { name: "t" })).token;
});

afterAll(async () => {
  for (const reader of openReaders) await reader.cancel().catch(() => {});
  await liveBuildEvents().hub.stop();
  await removeTestOrgs(db);
  await closeTestDb();
  await getPool().end();
});

/** Every key of a JSON value, at any depth, with its path. */
function keyPaths(value: unknown, at = "$"): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => keyPaths(v, `${at}[${i}]`));
  if (value && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => [`${at}.${k}`, ...keyPaths(v, `${at}.${k}`)]);
  return [];
}

/** The internal keys found in a body, and whether the worker, job or image values appear in it at all. */
function leaks(body: unknown): string[] {
  const found = keyPaths(body).filter((p) => INTERNAL_KEYS.includes(p.slice(p.lastIndexOf(".") + 1)));
  const text = JSON.stringify(body);
  for (const value of [WORKER, JOB, PACKAGE_IMAGE]) if (text.includes(value)) found.push(`the value ${value}`);
  return found;
}

/** A build of a new flavour in `status`, its row carrying the worker, the job, attempts and a heartbeat, with one package. */
async function buildWithInternals(status: "running" | "succeeded" | "failed" | "queued", extra: Partial<typeof builds.$inferInsert> = {}) {
  const flavour = await createFlavour(db, customer, { baseManifestId: baseId, name: `internal-${crypto.randomUUID().slice(0, 8)}`, description: "" });
  const build = await insertStandInBuild(db, customer, flavour, status);
  const finished = status === "succeeded" || status === "failed";
  await db
    .update(builds)
    .set({ workerId: WORKER, jobId: JOB, attempt: 2, maxAttempts: 4, retryReason: "The registry did not answer.", heartbeatAt: new Date(), startedAt: new Date(), finishedAt: finished ? new Date() : null, phase: status === "running" ? "building" : null, totalPackages: 1, ...extra })
    .where(eq(builds.id, build.id));
  const digest = `sha256:${crypto.randomUUID().replaceAll("-", "").padEnd(64, "0")}`;
  await db.insert(artefacts).values({ digest, size: 10, uncompressedSize: 20, fileCount: 1, compression: "gzip", deleted: [] }).onConflictDoNothing();
  await db.insert(buildPackages).values({ buildId: build.id, position: 0, packageId: "layer/greeting", version: "1", fromBase: false, status: finished ? "built" : "running", imageId: PACKAGE_IMAGE, artefactDigest: finished ? digest : null, cacheKey: "k1", startedAt: new Date() });
  await db.insert(buildLogs).values({ buildId: build.id, packageId: "layer/greeting", line: "hello" });
  return build;
}

const bearer = (extra: Record<string, string> = {}) => ({ authorization: `Bearer ${token}`, ...extra });

async function call(handler: (req: Request, ctx: { params: Promise<Record<string, string>> }) => Promise<Response>, id: string, method = "GET") {
  const res = await handler(new Request(`https://localhost/api/v1/x/${id}`, { method, headers: bearer(method === "GET" ? {} : { "content-type": "application/json" }) }), { params: Promise.resolve({ id }) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** The `build` events of the stream until `end` (finished builds) or the first one (running builds). */
async function streamedBuilds(id: string, untilEnd: boolean): Promise<unknown[]> {
  const res = await eventsRoute.GET(new Request("https://localhost/api/v1/builds/x/events", { headers: bearer() }), { params: Promise.resolve({ id }) });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  openReaders.push(reader);
  const decoder = new TextDecoder();
  let buffer = "";
  const events: Array<{ event: string; data: unknown }> = [];
  for (;;) {
    const end = buffer.indexOf("\n\n");
    if (end >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const fields = Object.fromEntries(block.split("\n").filter((l) => l && !l.startsWith(":")).map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 2)]));
      if (!fields.event) continue;
      events.push({ event: fields.event, data: JSON.parse(fields.data) });
      if (untilEnd ? fields.event === "end" : fields.event === "build") break;
      continue;
    }
    const chunk = await reader.read();
    if (chunk.done) break;
    buffer += decoder.decode(chunk.value, { stream: true });
  }
  if (!untilEnd) await reader.cancel();
  expect(events.some((e) => e.event === "build")).toBe(true);
  return events.map((e) => e.data);
}

describe("a build's internal fields", () => {
  it("never leave the server for a running build: the route, the event stream, the page's first render and cancel", async () => {
    const build = await buildWithInternals("running");
    const row = (await db.select().from(builds).where(eq(builds.id, build.id)))[0];
    // The row does hold them: the test would see them if the shaping let them through.
    expect(row).toMatchObject({ workerId: WORKER, jobId: JOB, attempt: 2 });

    const res = await call(buildRoute.GET, build.id);
    expect(res.status).toBe(200);
    expect(leaks(res.body)).toEqual([]);
    // What the build page shows of the retries, as a documented object rather than the claim counter.
    expect(res.body.retry).toEqual({ attemptNumber: 2, maxAttempts: 4, at: null, reason: "The registry did not answer." });
    expect(res.body).toMatchObject({ status: "running", phase: "building", logLines: 0 });

    expect(leaks(await streamedBuilds(build.id, false))).toEqual([]);
    expect(leaks(shownBuild(await getBuild(db, customer, build.id)))).toEqual([]);

    const cancelled = await call(cancelRoute.POST, build.id, "POST");
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.cancelRequestedAt).not.toBeNull();
    expect(leaks(cancelled.body)).toEqual([]);
  });

  it("never leave the server for a finished build: the route, every event until `end`, and a retry", async () => {
    const done = await buildWithInternals("succeeded");
    const res = await call(buildRoute.GET, done.id);
    expect(res.status).toBe(200);
    expect(leaks(res.body)).toEqual([]);
    expect((res.body.packages as Array<{ artefact: unknown }>)[0].artefact).not.toBeNull();
    expect(leaks(await streamedBuilds(done.id, true))).toEqual([]);

    const failed = await buildWithInternals("failed");
    const retried = await call(retryRoute.POST, failed.id, "POST");
    expect(retried.status).toBe(201);
    expect(retried.body).toMatchObject({ status: "queued", retryOf: failed.id, retry: null });
    expect(leaks(retried.body)).toEqual([]);
    // The new build's row has its job; the answer does not say which.
    expect((await db.select({ jobId: builds.jobId }).from(builds).where(eq(builds.id, retried.body.id as string)))[0].jobId).not.toBeNull();
  });

  it("shows a queued build waiting for a retry as `retry` with when and why", async () => {
    const at = new Date(Date.now() + 60_000);
    const waiting = await buildWithInternals("queued", { attempt: 1, retryAt: at, startedAt: null });
    const res = await call(buildRoute.GET, waiting.id);
    expect(res.status).toBe(200);
    expect(leaks(res.body)).toEqual([]);
    expect(res.body.retry).toEqual({ attemptNumber: 2, maxAttempts: 4, at: at.toISOString(), reason: "The registry did not answer." });
  });

  it("never leave the server through the disk image routes", async () => {
    const done = await buildWithInternals("succeeded");
    const [image] = await db
      .insert(diskImages)
      .values({ orgId: customer.org.id, buildId: done.id, sizeBytes: 4 << 30, formats: ["raw"], layout: { size: 4 << 30, partitions: [] }, status: "running", jobId: JOB, workerId: WORKER, heartbeatAt: new Date(), startedAt: new Date() })
      .returning();
    const list = await call(buildDiskImagesRoute.GET, done.id);
    expect(list.status).toBe(200);
    expect((list.body.diskImages as unknown[]).length).toBe(1);
    expect(leaks(list.body)).toEqual([]);
    const one = await call(diskImageRoute.GET, image.id);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ id: image.id, status: "running", build: { id: done.id }, flavour: { id: done.flavourId } });
    expect(leaks(one.body)).toEqual([]);
  });
});
