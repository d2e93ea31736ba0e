// Bad input to the build, disk image, channel, device, release and registration token routes, answered in one place
// by their declarations: a malformed id is a 404 with the resource's message, a bad query parameter a 400 naming it,
// and neither reads or changes anything.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { eq } from "drizzle-orm";
import { closeTestDb, insertStandInBuild, makeActor, removeTestOrgs, testDb } from "../testing/fixtures";
import { getPool } from "../db";
import { buildLogs, builds } from "../db/schema";
import type { Actor } from "../auth/actor";
import { createToken } from "../auth/tokens";
import { ensureBundledBaseManifests, listBaseManifests } from "../base-manifests/base-manifests";
import { createFlavour } from "../flavours/flavours";
import { liveBuildEvents } from "./live";
import * as buildRoute from "@/app/api/v1/builds/[id]/route";
import * as cancelRoute from "@/app/api/v1/builds/[id]/cancel/route";
import * as logsRoute from "@/app/api/v1/builds/[id]/logs/route";
import * as eventsRoute from "@/app/api/v1/builds/[id]/events/route";
import * as artefactRoute from "@/app/api/v1/builds/[id]/artefacts/[digest]/route";
import * as buildDiskImagesRoute from "@/app/api/v1/builds/[id]/disk-images/route";
import * as diskImageRoute from "@/app/api/v1/disk-images/[id]/route";
import * as diskImageLogsRoute from "@/app/api/v1/disk-images/[id]/logs/route";
import * as channelRoute from "@/app/api/v1/channels/[id]/route";
import * as deviceRoute from "@/app/api/v1/devices/[id]/route";
import * as releaseRoute from "@/app/api/v1/releases/[id]/route";
import * as registrationTokenRoute from "@/app/api/v1/registration-tokens/[id]/route";

process.env.DATABASE_URL = inject("databaseUrl");
process.env.STRATA_LOG_REQUESTS = "0";

const db = testDb();
let customer: Actor;
let token: string;
let buildId: string;
let lineIds: number[];

type Handler = (req: Request, ctx: { params: Promise<Record<string, string>> }) => Promise<Response>;

beforeAll(async () => {
  await ensureBundledBaseManifests(db);
  const baseId = (await listBaseManifests(db)).find((b) => b.name === "strata-base")!.id;
  customer = await makeActor(db);
  token = (await createToken(db, customer, { name: "t" })).token;
  const flavour = await createFlavour(db, customer, { baseManifestId: baseId, name: `routes-${crypto.randomUUID().slice(0, 8)}`, description: "" });
  buildId = (await insertStandInBuild(db, customer, flavour, "running")).id;
  lineIds = (await db.insert(buildLogs).values(["one", "two", "three"].map((line) => ({ buildId, line }))).returning({ id: buildLogs.id })).map((r) => r.id);
});

afterAll(async () => {
  await liveBuildEvents().hub.stop();
  await removeTestOrgs(db);
  await closeTestDb();
  await getPool().end();
});

async function call(handler: Handler, params: Record<string, string>, opts: { method?: string; search?: string; body?: unknown } = {}) {
  const method = opts.method ?? "GET";
  const res = await handler(
    new Request(`https://localhost/api/v1/x${opts.search ?? ""}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(method === "GET" || method === "DELETE" ? {} : { "content-type": "application/json" }) },
      body: method === "GET" || method === "DELETE" ? undefined : JSON.stringify(opts.body ?? {}),
    }),
    { params: Promise.resolve(params) },
  );
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as { error?: { code: string; message: string }; lines?: Array<{ id: number; line: string }> }) : null };
}

describe("declared params and query", () => {
  it("answers a malformed id with 404 and the resource's message on every route", async () => {
    const cases: Array<[Handler, Record<string, string>, string, string]> = [
      [buildRoute.GET, { id: "not-a-uuid" }, "GET", "No such build."],
      [cancelRoute.POST, { id: "1" }, "POST", "No such build."],
      [logsRoute.GET, { id: "x" }, "GET", "No such build."],
      [eventsRoute.GET, { id: "x" }, "GET", "No such build."],
      [artefactRoute.GET, { id: "x", digest: "sha256:0" }, "GET", "No such build."],
      [buildDiskImagesRoute.GET, { id: "x" }, "GET", "No such build."],
      [buildDiskImagesRoute.POST, { id: "x" }, "POST", "No such build."],
      [diskImageRoute.GET, { id: "x" }, "GET", "No such disk image."],
      [diskImageLogsRoute.GET, { id: "x" }, "GET", "No such disk image."],
      [channelRoute.PATCH, { id: "x" }, "PATCH", "No such channel."],
      [deviceRoute.DELETE, { id: "x" }, "DELETE", "No such device."],
      [releaseRoute.GET, { id: "x" }, "GET", "No such release."],
      [registrationTokenRoute.DELETE, { id: "x" }, "DELETE", "No such registration token."],
    ];
    for (const [handler, params, method, message] of cases) {
      const res = await call(handler, params, { method, body: { description: "x" } });
      expect(res.status, `${method} ${message}`).toBe(404);
      expect(res.body?.error).toEqual({ code: "not_found", message });
    }
    // A well-formed id of nothing is the same 404, from the lib's own check.
    expect((await call(buildRoute.GET, { id: crypto.randomUUID() })).body?.error?.message).toBe("No such build.");
    expect((await db.select({ cancel: builds.cancelRequestedAt }).from(builds).where(eq(builds.id, buildId)))[0].cancel).toBeNull();
  });

  it("pages the log with after and limit, and answers bad ones with a 400 naming the parameter", async () => {
    const all = await call(logsRoute.GET, { id: buildId });
    expect(all.status).toBe(200);
    expect(all.body?.lines?.map((l) => l.line)).toEqual(["one", "two", "three"]);
    const page = await call(logsRoute.GET, { id: buildId }, { search: `?after=${lineIds[0]}&limit=1` });
    expect(page.body?.lines?.map((l) => l.line)).toEqual(["two"]);

    for (const [search, name] of [
      ["?after=-1", "after"],
      ["?after=1.5", "after"],
      ["?limit=0", "limit"],
      ["?limit=lots", "limit"],
      ["?limit=5001", "limit"],
    ] as const) {
      for (const handler of [logsRoute.GET, diskImageLogsRoute.GET]) {
        const res = await call(handler, { id: buildId }, { search });
        expect(res.status, search).toBe(400);
        expect(res.body?.error?.code).toBe("bad_request");
        expect(res.body?.error?.message, search).toContain(name);
      }
    }
    const events = await call(eventsRoute.GET, { id: buildId }, { search: "?after=soon" });
    expect(events.status).toBe(400);
    expect(events.body?.error?.message).toContain("after");
  });

  it("refuses a disk image body with unknown formats with 422, before looking at the build", async () => {
    const res = await call(buildDiskImagesRoute.POST, { id: buildId }, { method: "POST", body: { formats: ["vmdk"] } });
    expect(res.status).toBe(422);
    expect(res.body?.error?.message).toMatch(/unknown format "vmdk"/);
  });
});
