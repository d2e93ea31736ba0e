// Channels, release requests and approvals, registration tokens and device changes against the real PostgreSQL,
// through the verbs and the REST route handlers: scoping to the organisation, roles, every refusal writing nothing,
// and an audit row with before → after in the transaction of each change.
import crypto from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { and, asc, count, eq } from "drizzle-orm";
import { closeTestDb, insertStandInBuild, makeActor, removeTestOrgs, testDb } from "../testing/fixtures";
import { getPool } from "../db";
import { auditLog, channels, devices, registrationTokens, releases, type BuildStatus } from "../db/schema";
import type { Actor } from "../auth/actor";
import { createToken } from "../auth/tokens";
import { ensureBundledBaseManifests, listBaseManifests } from "../base-manifests/base-manifests";
import { createFlavour } from "../flavours/flavours";
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from "../errors";
import { resetSigningKey } from "./signing";
import { createChannel, getChannel, listChannels, pauseChannel, resumeChannel, rollbackChannel, setRollout } from "./channels";
import { approveRelease, getRelease, rejectRelease, requestRelease } from "../releases/releases";
import { createRegistrationToken, revokeRegistrationToken } from "../devices/registration-tokens";
import { registerDevice } from "../devices/register";
import { getDevice, revokeDevice, updateDevice } from "../devices/devices";
import * as flavourChannelsRoute from "@/app/api/v1/flavours/[id]/channels/route";
import * as channelRoute from "@/app/api/v1/channels/[id]/route";
import * as channelReleasesRoute from "@/app/api/v1/channels/[id]/releases/route";
import * as channelTokensRoute from "@/app/api/v1/channels/[id]/registration-tokens/route";
import * as channelAuditRoute from "@/app/api/v1/channels/[id]/audit/route";
import * as pauseRoute from "@/app/api/v1/channels/[id]/pause/route";
import * as resumeRoute from "@/app/api/v1/channels/[id]/resume/route";
import * as rolloutRoute from "@/app/api/v1/channels/[id]/rollout/route";
import * as rollbackRoute from "@/app/api/v1/channels/[id]/rollback/route";
import * as releasesRoute from "@/app/api/v1/releases/route";
import * as releaseRoute from "@/app/api/v1/releases/[id]/route";
import * as approveRoute from "@/app/api/v1/releases/[id]/approve/route";
import * as rejectRoute from "@/app/api/v1/releases/[id]/reject/route";
import * as devicesRoute from "@/app/api/v1/devices/route";
import * as deviceRoute from "@/app/api/v1/devices/[id]/route";
import * as tokenRoute from "@/app/api/v1/registration-tokens/[id]/route";
import * as auditRoute from "@/app/api/v1/audit/route";

process.env.DATABASE_URL = inject("databaseUrl");
process.env.STRATA_LOG_REQUESTS = "0";
// Registration hands out the process's public key: a throwaway one, not a file in the data folder.
process.env.STRATA_SIGNING_KEY = crypto.generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
resetSigningKey();

const db = testDb();
afterAll(async () => {
  // The builds here are stand-ins without images: the repository backfill must not find them later in the run.
  await removeTestOrgs(db);
  await closeTestDb();
  await getPool().end();
});

let baseId: string;
let admin: Actor;
let adminToken: string;
beforeAll(async () => {
  await ensureBundledBaseManifests(db);
  baseId = (await listBaseManifests(db)).find((b) => b.name === "strata-base")!.id;
  admin = await makeActor(db, { role: "admin" });
  adminToken = (await createToken(db, admin, { name: "admin" })).token;
});

type Handler = (req: Request, ctx: { params: Promise<Record<string, string>> }) => Promise<Response>;

/** Calls a route handler as Next would, with a bearer token; returns the status and the JSON body (if any). */
async function call(handler: Handler, init: { method?: string; token: string; body?: unknown; params?: Record<string, string>; query?: string }) {
  const res = await handler(
    new Request(`https://localhost/api/v1/x${init.query ?? ""}`, {
      method: init.method ?? "GET",
      headers: { authorization: `Bearer ${init.token}`, ...(init.body !== undefined ? { "content-type": "application/json" } : {}) },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    }),
    { params: Promise.resolve(init.params ?? {}) },
  );
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as any };
}

const randomDigest = () => `sha256:${crypto.randomBytes(32).toString("hex")}`;

/** A customer with a token, a flavour (with its stable and beta channels). */
async function customerWithFlavour() {
  const actor = await makeActor(db);
  const token = (await createToken(db, actor, { name: "t" })).token;
  const flavour = await createFlavour(db, actor, { baseManifestId: baseId, name: `fl-${crypto.randomUUID().slice(0, 8)}`, description: "" });
  const rows = await db.select().from(channels).where(eq(channels.flavourId, flavour.id));
  const stable = rows.find((c) => c.name === "stable")!;
  const beta = rows.find((c) => c.name === "beta")!;
  return { actor, token, flavour, stable, beta };
}

const insertBuild = (actor: Actor, flavour: { id: string; name: string; imageRepository: string; latest: { id: string } }, status: BuildStatus = "succeeded") => insertStandInBuild(db, actor, flavour, status);

/** What a refusal must leave untouched, for one organisation. */
async function rowsOf(orgId: string) {
  const n = async (table: typeof releases | typeof channels | typeof devices | typeof registrationTokens | typeof auditLog) =>
    (await db.select({ n: count() }).from(table).where(eq(table.orgId, orgId)))[0].n;
  return { releases: await n(releases), channels: await n(channels), devices: await n(devices), tokens: await n(registrationTokens), audit: await n(auditLog) };
}

const channelRow = async (id: string) => (await db.select().from(channels).where(eq(channels.id, id)))[0];
const releaseRow = async (id: string) => (await db.select().from(releases).where(eq(releases.id, id)))[0];
const deviceRow = async (id: string) => (await db.select().from(devices).where(eq(devices.id, id)))[0];

async function registeredDevice(actor: Actor, channelId: string, name = "kiosk-1") {
  const { token } = await createRegistrationToken(db, actor, channelId, { name: `for ${name}` });
  return registerDevice(db, { token, name }, "192.0.2.10");
}

describe("channels", () => {
  it("gives a new flavour a stable and a beta channel, listed through the API", async () => {
    const { token, flavour } = await customerWithFlavour();
    const res = await call(flavourChannelsRoute.GET, { token, params: { id: flavour.id } });
    expect(res.status).toBe(200);
    expect(res.body.flavour).toEqual({ id: flavour.id, name: flavour.name });
    expect(res.body.channels.map((c: { name: string }) => c.name).sort()).toEqual(["beta", "stable"]);
    for (const c of res.body.channels) expect(c).toMatchObject({ releaseId: null, devices: 0, pending: 0, rolloutPercent: 100, pausedAt: null, haltedAt: null });
  });

  it("creates a channel; a duplicate name is 409 and a bad name 422, each writing nothing", async () => {
    const { actor, token, flavour } = await customerWithFlavour();
    const created = await call(flavourChannelsRoute.POST, { method: "POST", token, params: { id: flavour.id }, body: { name: "canary", description: "Two kiosks in the office." } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: "canary", description: "Two kiosks in the office.", flavourId: flavour.id, orgId: actor.org.id });

    const before = await rowsOf(actor.org.id);
    const duplicate = await call(flavourChannelsRoute.POST, { method: "POST", token, params: { id: flavour.id }, body: { name: "canary" } });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.error.message).toMatch(/already has a channel named "canary"/);
    for (const [name, message] of [
      ["Canary Two", /name may hold only a-z, 0-9 and -/],
      ["-canary", /name may hold only/],
      ["", /name is required/],
      ["c".repeat(41), /at most 40 characters/],
    ] as const) {
      const bad = await call(flavourChannelsRoute.POST, { method: "POST", token, params: { id: flavour.id }, body: { name } });
      expect(bad.status, name).toBe(422);
      expect(bad.body.error.message).toMatch(message);
    }
    const unknownField = await call(flavourChannelsRoute.POST, { method: "POST", token, params: { id: flavour.id }, body: { name: "other", rolloutPercent: 5 } });
    expect(unknownField.status).toBe(422);
    expect(await rowsOf(actor.org.id)).toEqual(before);
    expect((await listChannels(db, actor, flavour.id)).channels.map((c) => c.name).sort()).toEqual(["beta", "canary", "stable"]);
  });

  it("answers 404 for another organisation's channel, release, device and token, through the verbs and the API, changing nothing", async () => {
    const owner = await customerWithFlavour();
    const build = await insertBuild(owner.actor, owner.flavour);
    const release = await requestRelease(db, owner.actor, owner.stable.id, { buildId: build.id, version: "1.0.0" });
    const { token: registrationToken, summary: tokenSummary } = await createRegistrationToken(db, owner.actor, owner.stable.id, { name: "line 1" });
    const device = await registerDevice(db, { token: registrationToken, name: "kiosk-1" }, null);

    const stranger = await customerWithFlavour();
    const strangerBuild = await insertBuild(stranger.actor, stranger.flavour);
    const before = await rowsOf(owner.actor.org.id);
    const strangerBefore = await rowsOf(stranger.actor.org.id);

    const refusals: Array<[string, () => Promise<unknown>]> = [
      ["listChannels", () => listChannels(db, stranger.actor, owner.flavour.id)],
      ["createChannel", () => createChannel(db, stranger.actor, owner.flavour.id, { name: "sneaky" })],
      ["getChannel", () => getChannel(db, stranger.actor, owner.stable.id)],
      ["requestRelease", () => requestRelease(db, stranger.actor, owner.stable.id, { buildId: strangerBuild.id, version: "9.0.0" })],
      ["getRelease", () => getRelease(db, stranger.actor, release.id)],
      ["createRegistrationToken", () => createRegistrationToken(db, stranger.actor, owner.stable.id, { name: "sneaky" })],
      ["revokeRegistrationToken", () => revokeRegistrationToken(db, stranger.actor, tokenSummary.id)],
      ["getDevice", () => getDevice(db, stranger.actor, device.deviceId)],
      ["updateDevice", () => updateDevice(db, stranger.actor, device.deviceId, { pinnedReference: "127.0.0.1:5000/x/y:1" })],
      ["revokeDevice", () => revokeDevice(db, stranger.actor, device.deviceId)],
    ];
    for (const [verb, attempt] of refusals) {
      const err = await attempt().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, verb).toBeInstanceOf(NotFoundError);
    }

    const t = stranger.token;
    const routes: Array<[string, Handler, { method?: string; params: Record<string, string>; body?: unknown }]> = [
      ["GET /flavours/:id/channels", flavourChannelsRoute.GET, { params: { id: owner.flavour.id } }],
      ["POST /flavours/:id/channels", flavourChannelsRoute.POST, { method: "POST", params: { id: owner.flavour.id }, body: { name: "sneaky" } }],
      ["GET /channels/:id", channelRoute.GET, { params: { id: owner.stable.id } }],
      ["PATCH /channels/:id", channelRoute.PATCH, { method: "PATCH", params: { id: owner.stable.id }, body: { description: "mine now" } }],
      ["GET /channels/:id/audit", channelAuditRoute.GET, { params: { id: owner.stable.id } }],
      ["POST /channels/:id/releases", channelReleasesRoute.POST, { method: "POST", params: { id: owner.stable.id }, body: { buildId: strangerBuild.id, version: "9.0.0" } }],
      ["POST /channels/:id/registration-tokens", channelTokensRoute.POST, { method: "POST", params: { id: owner.stable.id }, body: { name: "sneaky" } }],
      ["GET /releases/:id", releaseRoute.GET, { params: { id: release.id } }],
      ["GET /devices/:id", deviceRoute.GET, { params: { id: device.deviceId } }],
      ["PATCH /devices/:id", deviceRoute.PATCH, { method: "PATCH", params: { id: device.deviceId }, body: { name: "mine" } }],
      ["DELETE /devices/:id", deviceRoute.DELETE, { method: "DELETE", params: { id: device.deviceId } }],
      ["DELETE /registration-tokens/:id", tokenRoute.DELETE, { method: "DELETE", params: { id: tokenSummary.id } }],
    ];
    for (const [name, handler, init] of routes) {
      const res = await call(handler, { ...init, token: t });
      expect(res.status, name).toBe(404);
      expect(res.body.error.code, name).toBe("not_found");
      expect(res.body.error.message, name).toMatch(/^No such (flavour|channel|release|device|registration token)/);
    }
    // Ids that are not ids at all are the same 404.
    expect((await call(channelRoute.GET, { token: t, params: { id: "not-a-uuid" } })).status).toBe(404);

    // Lists show none of it.
    const lists = [
      await call(releasesRoute.GET, { token: t }),
      await call(devicesRoute.GET, { token: t }),
      await call(auditRoute.GET, { token: t }),
    ];
    const ids = JSON.stringify(lists.map((l) => l.body));
    for (const id of [release.id, device.deviceId, owner.stable.id, tokenSummary.id]) expect(ids).not.toContain(id);

    expect(await rowsOf(owner.actor.org.id)).toEqual(before);
    expect(await rowsOf(stranger.actor.org.id)).toEqual(strangerBefore);
    expect(await deviceRow(device.deviceId)).toMatchObject({ name: "kiosk-1", pinnedReference: null, revokedAt: null });
    expect((await db.select().from(registrationTokens).where(eq(registrationTokens.id, tokenSummary.id)))[0].revokedAt).toBeNull();
    expect(await channelRow(owner.stable.id)).toMatchObject({ description: owner.stable.description });
  });
});

describe("release requests", () => {
  it("needs a semantic version, refusing 'v1', '1.0' and 'v1.0.0' with 422 and writing nothing", async () => {
    const { actor, token, flavour, stable } = await customerWithFlavour();
    const build = await insertBuild(actor, flavour);
    const before = await rowsOf(actor.org.id);
    for (const version of ["v1", "1.0", "v1.0.0", "1.0.0.0", "", "latest"]) {
      const res = await call(channelReleasesRoute.POST, { method: "POST", token, params: { id: stable.id }, body: { buildId: build.id, version } });
      expect(res.status, version).toBe(422);
      expect(res.body.error.message, version).toMatch(/^version: /);
    }
    const noBuild = await call(channelReleasesRoute.POST, { method: "POST", token, params: { id: stable.id }, body: { buildId: "r1.1", version: "1.0.0" } });
    expect(noBuild.status).toBe(422);
    expect(noBuild.body.error.message).toMatch(/buildId must be a build id/);
    expect(await rowsOf(actor.org.id)).toEqual(before);

    const ok = await call(channelReleasesRoute.POST, { method: "POST", token, params: { id: stable.id }, body: { buildId: build.id, version: "1.0.0-rc.1", notes: "First try." } });
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ status: "pending", version: "1.0.0-rc.1", notes: "First try.", channelId: stable.id, buildId: build.id });
    // Devices pull by digest, not by the build's tag.
    expect(ok.body.imageRef).toBe(`127.0.0.1:5000/${actor.org.slug}/${flavour.name}@${build.imageDigest}`);
    expect(ok.body.imageDigest).toBe(build.imageDigest);
  });

  it("makes versions grow on a channel: 1.0.0 then 0.9.0 is 422 naming 1.0.0; a rejected version cannot come back", async () => {
    const { actor, token, flavour, stable, beta } = await customerWithFlavour();
    const build = await insertBuild(actor, flavour);
    const first = await call(channelReleasesRoute.POST, { method: "POST", token, params: { id: stable.id }, body: { buildId: build.id, version: "1.0.0" } });
    expect(first.status).toBe(201);

    const before = await rowsOf(actor.org.id);
    for (const version of ["0.9.0", "1.0.0", "1.0.0-rc.1"]) {
      const res = await call(channelReleasesRoute.POST, { method: "POST", token, params: { id: stable.id }, body: { buildId: build.id, version } });
      expect(res.status, version).toBe(422);
      expect(res.body.error.message).toMatch(/version must be higher than 1\.0\.0, the highest version asked for or released on stable/);
      expect(res.body.error.details.issues).toEqual([{ path: "version", message: "must be higher than 1.0.0" }]);
    }
    expect(await rowsOf(actor.org.id)).toEqual(before);

    // Another channel counts on its own.
    expect((await call(channelReleasesRoute.POST, { method: "POST", token, params: { id: beta.id }, body: { buildId: build.id, version: "0.9.0" } })).status).toBe(201);

    const second = await requestRelease(db, actor, stable.id, { buildId: build.id, version: "1.1.0" });
    await rejectRelease(db, admin, second.id, { reason: "Kernel panics on the kiosks." });
    const again = await call(channelReleasesRoute.POST, { method: "POST", token, params: { id: stable.id }, body: { buildId: build.id, version: "1.1.0" } });
    expect(again.status).toBe(409);
    expect(again.body.error.message).toMatch(/1\.1\.0 was rejected on stable before/);
    // A rejected version does not hold the channel back.
    expect((await call(channelReleasesRoute.POST, { method: "POST", token, params: { id: stable.id }, body: { buildId: build.id, version: "1.0.1" } })).status).toBe(201);
  });

  it("refuses a failed build and a build of another flavour with 422, another organisation's build with 404, writing nothing", async () => {
    const { actor, token, flavour, stable } = await customerWithFlavour();
    const failed = await insertBuild(actor, flavour, "failed");
    const running = await insertBuild(actor, flavour, "running");
    const otherFlavour = await createFlavour(db, actor, { baseManifestId: baseId, name: `fl-${crypto.randomUUID().slice(0, 8)}`, description: "" });
    const ofOtherFlavour = await insertBuild(actor, otherFlavour);
    const stranger = await customerWithFlavour();
    const strangersBuild = await insertBuild(stranger.actor, stranger.flavour);

    const before = await rowsOf(actor.org.id);
    const attempt = (buildId: string) => call(channelReleasesRoute.POST, { method: "POST", token, params: { id: stable.id }, body: { buildId, version: "1.0.0" } });
    const cases: Array<[string, number, RegExp]> = [
      [failed.id, 422, new RegExp(`Build ${failed.version} has not succeeded \\(it is failed\\)`)],
      [running.id, 422, /has not succeeded \(it is running\)/],
      [ofOtherFlavour.id, 422, /another flavour than the channel's/],
      [strangersBuild.id, 404, /No such build/],
      [crypto.randomUUID(), 404, /No such build/],
    ];
    for (const [buildId, status, message] of cases) {
      const res = await attempt(buildId);
      expect(res.status, message.source).toBe(status);
      expect(res.body.error.message).toMatch(message);
    }
    expect(await rowsOf(actor.org.id)).toEqual(before);
  });
});

describe("approvals", () => {
  it("refuses customers approving, rejecting, pausing, resuming, rolling out and rolling back with 403, changing nothing", async () => {
    const { actor, token, flavour, stable } = await customerWithFlavour();
    const approved = await requestRelease(db, actor, stable.id, { buildId: (await insertBuild(actor, flavour)).id, version: "1.0.0" });
    await approveRelease(db, admin, approved.id, {});
    const pending = await requestRelease(db, actor, stable.id, { buildId: (await insertBuild(actor, flavour)).id, version: "1.1.0" });
    const channelBefore = await channelRow(stable.id);
    const before = await rowsOf(actor.org.id);

    const verbs: Array<[string, () => Promise<unknown>]> = [
      ["approve", () => approveRelease(db, actor, pending.id, {})],
      ["reject", () => rejectRelease(db, actor, pending.id, { reason: "no" })],
      ["pause", () => pauseChannel(db, actor, stable.id, {})],
      ["resume", () => resumeChannel(db, actor, stable.id)],
      ["rollout", () => setRollout(db, actor, stable.id, { percent: 10 })],
      ["rollback", () => rollbackChannel(db, actor, stable.id, { releaseId: approved.id })],
    ];
    for (const [name, verb] of verbs) await expect(verb(), name).rejects.toBeInstanceOf(ForbiddenError);

    const routes: Array<[string, Handler, string, unknown]> = [
      ["approve", approveRoute.POST, pending.id, {}],
      ["reject", rejectRoute.POST, pending.id, { reason: "no" }],
      ["pause", pauseRoute.POST, stable.id, {}],
      ["resume", resumeRoute.POST, stable.id, {}],
      ["rollout", rolloutRoute.POST, stable.id, { percent: 10 }],
      ["rollback", rollbackRoute.POST, stable.id, { releaseId: approved.id }],
    ];
    for (const [name, handler, id, body] of routes) {
      const res = await call(handler, { method: "POST", token, params: { id }, body });
      expect(res.status, name).toBe(403);
      expect(res.body.error.message, name).toBe("This needs an administrator.");
    }
    expect(await channelRow(stable.id)).toEqual(channelBefore);
    expect(await releaseRow(pending.id)).toMatchObject({ status: "pending", decidedAt: null, decidedBy: null });
    expect(await rowsOf(actor.org.id)).toEqual(before);
  });

  it("makes an approved release the channel's release, the old one its previous, and grows the sequence", async () => {
    const { actor, flavour, stable } = await customerWithFlavour();
    const first = await requestRelease(db, actor, stable.id, { buildId: (await insertBuild(actor, flavour)).id, version: "1.0.0" });
    const second = await requestRelease(db, actor, stable.id, { buildId: (await insertBuild(actor, flavour)).id, version: "1.1.0" });
    const sequence0 = (await channelRow(stable.id)).sequence;

    const res = await call(approveRoute.POST, { method: "POST", token: adminToken, params: { id: first.id }, body: {} });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: first.id, status: "approved", rolloutPercent: 100, decidedBy: admin.user.id });
    const afterFirst = await channelRow(stable.id);
    expect(afterFirst).toMatchObject({ releaseId: first.id, previousReleaseId: null, rolloutPercent: 100 });
    expect(afterFirst.sequence).toBeGreaterThan(sequence0);

    await approveRelease(db, admin, second.id, { rolloutPercent: 25 });
    const afterSecond = await channelRow(stable.id);
    expect(afterSecond).toMatchObject({ releaseId: second.id, previousReleaseId: first.id, rolloutPercent: 25 });
    expect(afterSecond.sequence).toBeGreaterThan(afterFirst.sequence);

    const page = await getChannel(db, actor, stable.id);
    expect(page.release?.version).toBe("1.1.0");
    expect(page.previous?.version).toBe("1.0.0");
    expect(page.history.map((r) => r.version)).toEqual(["1.1.0", "1.0.0"]);

    // Approving twice, or rejecting what was approved, is a conflict and changes nothing.
    const before = await rowsOf(actor.org.id);
    const twice = await call(approveRoute.POST, { method: "POST", token: adminToken, params: { id: second.id }, body: {} });
    expect(twice.status).toBe(409);
    expect(twice.body.error.message).toBe("Release 1.1.0 was approved already.");
    await expect(rejectRelease(db, admin, second.id, { reason: "too late" })).rejects.toBeInstanceOf(ConflictError);
    expect(await channelRow(stable.id)).toEqual(afterSecond);
    expect(await rowsOf(actor.org.id)).toEqual(before);
  });

  it("refuses to approve an older pending release over a newer approved one, and a bad rollout percentage", async () => {
    const { actor, flavour, stable } = await customerWithFlavour();
    const older = await requestRelease(db, actor, stable.id, { buildId: (await insertBuild(actor, flavour)).id, version: "1.0.0" });
    const newer = await requestRelease(db, actor, stable.id, { buildId: (await insertBuild(actor, flavour)).id, version: "1.1.0" });
    for (const rolloutPercent of [0, 101, 12.5, "50"]) {
      const res = await call(approveRoute.POST, { method: "POST", token: adminToken, params: { id: newer.id }, body: { rolloutPercent } });
      expect(res.status, String(rolloutPercent)).toBe(422);
      expect(res.body.error.message).toMatch(/^rolloutPercent: /);
    }
    expect(await releaseRow(newer.id)).toMatchObject({ status: "pending" });
    await approveRelease(db, admin, newer.id, {});
    const channelBefore = await channelRow(stable.id);
    const err = await approveRelease(db, admin, older.id, {}).catch((e) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect(err.message).toBe("Release 1.0.0 is not higher than 1.1.0, the channel's release now.");
    expect(await releaseRow(older.id)).toMatchObject({ status: "pending" });
    expect(await channelRow(stable.id)).toEqual(channelBefore);
  });

  it("rejects only with a reason, and keeps the reason", async () => {
    const { actor, token, flavour, stable } = await customerWithFlavour();
    const pending = await requestRelease(db, actor, stable.id, { buildId: (await insertBuild(actor, flavour)).id, version: "2.0.0" });
    const before = await rowsOf(actor.org.id);
    for (const body of [{}, { reason: "" }, { reason: "   " }, { reason: "x".repeat(2001) }]) {
      const res = await call(rejectRoute.POST, { method: "POST", token: adminToken, params: { id: pending.id }, body });
      expect(res.status).toBe(422);
      expect(res.body.error.message).toMatch(/^reason: /);
    }
    expect(await releaseRow(pending.id)).toMatchObject({ status: "pending", decisionReason: null });
    expect(await rowsOf(actor.org.id)).toEqual(before);

    const res = await call(rejectRoute.POST, { method: "POST", token: adminToken, params: { id: pending.id }, body: { reason: "The kiosk browser does not start." } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: "rejected", decisionReason: "The kiosk browser does not start." });
    // The customer sees it in their list with the reason; the channel is unchanged.
    const mine = await call(channelReleasesRoute.GET, { token, params: { id: stable.id } });
    expect(mine.body.releases).toEqual([expect.objectContaining({ id: pending.id, status: "rejected", decisionReason: "The kiosk browser does not start." })]);
    expect((await channelRow(stable.id)).releaseId).toBeNull();
  });

  it("checks rollouts and rollbacks: percent 1–100, a release to roll out, an approved release of this channel to go back to", async () => {
    const { actor, flavour, stable, beta } = await customerWithFlavour();
    const noRelease = await call(rolloutRoute.POST, { method: "POST", token: adminToken, params: { id: stable.id }, body: { percent: 50 } });
    expect(noRelease.status).toBe(409);
    expect(noRelease.body.error.message).toMatch(/has no release to roll out yet/);

    const first = await requestRelease(db, actor, stable.id, { buildId: (await insertBuild(actor, flavour)).id, version: "1.0.0" });
    await approveRelease(db, admin, first.id, {});
    const second = await requestRelease(db, actor, stable.id, { buildId: (await insertBuild(actor, flavour)).id, version: "1.1.0" });
    await approveRelease(db, admin, second.id, { rolloutPercent: 25 });
    const pending = await requestRelease(db, actor, stable.id, { buildId: (await insertBuild(actor, flavour)).id, version: "1.2.0" });
    const onBeta = await requestRelease(db, actor, beta.id, { buildId: (await insertBuild(actor, flavour)).id, version: "1.0.0" });
    await approveRelease(db, admin, onBeta.id, {});

    const channelBefore = await channelRow(stable.id);
    const before = await rowsOf(actor.org.id);
    const refusals: Array<[Handler, unknown, number, RegExp]> = [
      [rolloutRoute.POST, { percent: 0 }, 422, /percent is 1–100/],
      [rolloutRoute.POST, { percent: 101 }, 422, /percent is 1–100/],
      [rolloutRoute.POST, { percent: 2.5 }, 422, /whole number/],
      [rolloutRoute.POST, {}, 422, /^percent: /],
      [rolloutRoute.POST, { percent: 25 }, 409, /already at 25 %/],
      [rollbackRoute.POST, { releaseId: "1.0.0" }, 422, /releaseId must be a release id/],
      [rollbackRoute.POST, { releaseId: second.id }, 409, /current release already/],
      [rollbackRoute.POST, { releaseId: pending.id }, 422, /Release 1\.2\.0 was never approved/],
      [rollbackRoute.POST, { releaseId: onBeta.id }, 404, /No such release on this channel/],
      [pauseRoute.POST, { reason: "x".repeat(501) }, 422, /reason is at most 500/],
      [resumeRoute.POST, {}, 409, /neither paused nor halted/],
    ];
    for (const [handler, body, status, message] of refusals) {
      const res = await call(handler, { method: "POST", token: adminToken, params: { id: stable.id }, body });
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(res.body.error.message).toMatch(message);
    }
    expect(await channelRow(stable.id)).toEqual(channelBefore);
    expect(await rowsOf(actor.org.id)).toEqual(before);

    const raised = await call(rolloutRoute.POST, { method: "POST", token: adminToken, params: { id: stable.id }, body: { percent: 50 } });
    expect(raised.status).toBe(200);
    expect(raised.body).toMatchObject({ rolloutPercent: 50, releaseId: second.id });
    expect(raised.body.sequence).toBeGreaterThan(channelBefore.sequence);

    const back = await call(rollbackRoute.POST, { method: "POST", token: adminToken, params: { id: stable.id }, body: { releaseId: first.id } });
    expect(back.status).toBe(200);
    expect(back.body).toMatchObject({ releaseId: first.id, previousReleaseId: null, rolloutPercent: 100 });
    expect(back.body.sequence).toBeGreaterThan(raised.body.sequence);
  });
});

describe("audit", () => {
  it("records every change with who, before and after, on the channel's history", async () => {
    const { actor, token, flavour, stable, beta } = await customerWithFlavour();
    const first = await requestRelease(db, actor, stable.id, { buildId: (await insertBuild(actor, flavour)).id, version: "1.0.0" });
    await approveRelease(db, admin, first.id, {});
    const second = await requestRelease(db, actor, stable.id, { buildId: (await insertBuild(actor, flavour)).id, version: "1.1.0" });
    await approveRelease(db, admin, second.id, { rolloutPercent: 10 });
    const third = await requestRelease(db, actor, stable.id, { buildId: (await insertBuild(actor, flavour)).id, version: "1.2.0" });
    await rejectRelease(db, admin, third.id, { reason: "Broken wifi." });
    await pauseChannel(db, admin, stable.id, { reason: "Checking the wifi." });
    await resumeChannel(db, admin, stable.id);
    await setRollout(db, admin, stable.id, { percent: 50 });
    await rollbackChannel(db, admin, stable.id, { releaseId: first.id });
    const { summary: tokenSummary } = await createRegistrationToken(db, actor, stable.id, { name: "line 1", maxUses: 3, expiresInDays: 7 });
    await revokeRegistrationToken(db, actor, tokenSummary.id);
    const device = await registeredDevice(actor, stable.id);
    const pin = `127.0.0.1:5000/${actor.org.slug}/${flavour.name}:r1.1`;
    await updateDevice(db, actor, device.deviceId, { pinnedReference: pin });
    await updateDevice(db, actor, device.deviceId, { pinnedReference: null });
    await updateDevice(db, actor, device.deviceId, { channelId: beta.id });
    await revokeDevice(db, actor, device.deviceId);

    const rows = await db.select().from(auditLog).where(eq(auditLog.orgId, actor.org.id)).orderBy(asc(auditLog.id));
    const on = (action: string, subject: string, channelId = stable.id) => {
      const found = rows.filter((r) => r.action === action && r.subject === subject && r.channelId === channelId);
      expect(found, action).toHaveLength(1);
      return found[0] as typeof found[0] & { detail: { before: unknown; after: unknown } };
    };
    const expected: Array<[string, string, string, unknown, unknown, string?]> = [
      ["release.request", first.id, actor.user.id, null, { version: "1.0.0" }],
      ["release.reject", third.id, admin.user.id, { status: "pending" }, { status: "rejected", version: "1.2.0", reason: "Broken wifi." }],
      ["channel.pause", stable.id, admin.user.id, { paused: false }, { paused: true, reason: "Checking the wifi." }],
      ["channel.resume", stable.id, admin.user.id, { paused: true, halted: null }, { paused: false, halted: null }],
      ["channel.rollout", second.id, admin.user.id, { percent: 10 }, { percent: 50 }],
      ["channel.rollback", first.id, admin.user.id, { version: "1.1.0", percent: 50 }, { version: "1.0.0", percent: 100 }],
      ["registration-token.revoke", tokenSummary.id, actor.user.id, { revoked: false }, { revoked: true, name: "line 1" }],
      ["device.pin", device.deviceId, actor.user.id, { pinnedReference: null }, { pinnedReference: pin }],
      ["device.unpin", device.deviceId, actor.user.id, { pinnedReference: pin }, { pinnedReference: null }],
      ["device.move", device.deviceId, actor.user.id, { channel: "stable" }, { channel: "beta" }],
      ["device.move", device.deviceId, actor.user.id, { channel: "stable" }, { channel: "beta" }, beta.id],
      ["device.revoke", device.deviceId, actor.user.id, { revoked: false }, { revoked: true }, beta.id],
    ];
    for (const [action, subject, actorUserId, before, after, channelId] of expected) {
      const row = on(action, subject, channelId);
      expect(row, action).toMatchObject({ subject, actorUserId });
      expect(row.detail.before, action).toEqual(before);
      expect(row.detail.after, action).toMatchObject(after as object);
    }
    const approvals = rows.filter((r) => r.action === "release.approve");
    expect(approvals.map((r) => [r.subject, r.actorUserId, (r.detail as { before: unknown }).before, (r.detail as { after: unknown }).after])).toEqual([
      [first.id, admin.user.id, { version: null, percent: 100 }, { version: "1.0.0", percent: 100 }],
      [second.id, admin.user.id, { version: "1.0.0", percent: 100 }, { version: "1.1.0", percent: 10 }],
    ]);
    const tokenCreated = rows.filter((r) => r.action === "registration-token.create" && r.subject === tokenSummary.id);
    expect(tokenCreated).toHaveLength(1);
    expect(tokenCreated[0].detail).toMatchObject({ before: null, after: { name: "line 1", maxUses: 3 } });
    // Registration is the device's own doing: no user.
    expect(rows.find((r) => r.action === "device.register")).toMatchObject({ actorUserId: null, subject: device.deviceId });

    // The channel's page lists its history, newest first, to the customer through the API.
    const page = await call(channelAuditRoute.GET, { token, params: { id: stable.id } });
    expect(page.status).toBe(200);
    const actions = page.body.entries.map((e: { action: string }) => e.action);
    expect(actions[0]).toBe("device.move");
    expect(actions).toContain("release.approve");
    expect(actions).not.toContain("device.revoke");
    const paged = await call(channelAuditRoute.GET, { token, params: { id: stable.id }, query: "?limit=2" });
    expect(paged.body.entries).toHaveLength(2);
    // The next page starts after the last entry shown (an opaque cursor, also in the Link header).
    const older = await call(channelAuditRoute.GET, { token, params: { id: stable.id }, query: `?limit=2&cursor=${paged.body.next}` });
    expect(older.body.entries[0].id).toBeLessThan(paged.body.entries[1].id);
    const bad = await call(auditRoute.GET, { token, query: "?limit=0" });
    expect(bad.status).toBe(400);
  });

  it("writes the audit row in the change's transaction: a change rolled back, or a verb that fails half-way, leaves none", async () => {
    const { actor, flavour, stable } = await customerWithFlavour();
    const release = await requestRelease(db, actor, stable.id, { buildId: (await insertBuild(actor, flavour)).id, version: "1.0.0" });
    await approveRelease(db, admin, release.id, {});
    const channelBefore = await channelRow(stable.id);
    const before = await rowsOf(actor.org.id);

    // The verb runs inside a transaction that is then rolled back: its audit row must go with it.
    const rollback = new Error("roll back");
    await expect(
      db.transaction(async (tx) => {
        await pauseChannel(tx, admin, stable.id, { reason: "will not stick" });
        expect(await tx.select({ n: count() }).from(auditLog).where(and(eq(auditLog.channelId, stable.id), eq(auditLog.action, "channel.pause")))).toEqual([{ n: 1 }]);
        throw rollback;
      }),
    ).rejects.toBe(rollback);
    expect(await channelRow(stable.id)).toEqual(channelBefore);
    expect(await rowsOf(actor.org.id)).toEqual(before);

    // Renaming is audited first, then the move to another organisation's channel fails: neither stays.
    const device = await registeredDevice(actor, stable.id);
    const deviceBefore = await deviceRow(device.deviceId);
    const afterRegistration = await rowsOf(actor.org.id);
    const stranger = await customerWithFlavour();
    const err = await updateDevice(db, actor, device.deviceId, { name: "renamed", channelId: stranger.stable.id }).catch((e) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toBe("channelId: no such channel.");
    expect(await deviceRow(device.deviceId)).toEqual(deviceBefore);
    expect(await rowsOf(actor.org.id)).toEqual(afterRegistration);

    // A refused verb writes no audit row either.
    await pauseChannel(db, admin, stable.id, {});
    const paused = await rowsOf(actor.org.id);
    await expect(pauseChannel(db, admin, stable.id, {})).rejects.toBeInstanceOf(ConflictError);
    expect(await rowsOf(actor.org.id)).toEqual(paused);
  });
});

describe("devices in the portal", () => {
  it("refuses a pin to a reference a device cannot pull with 422, leaving the device as it was", async () => {
    const { actor, token, flavour, stable } = await customerWithFlavour();
    const device = await registeredDevice(actor, stable.id);
    const before = await deviceRow(device.deviceId);
    const rowsBefore = await rowsOf(actor.org.id);
    const cases: Array<[unknown, RegExp]> = [
      ["web:1", /^pinnedReference: must be an image reference such as/],
      [`${actor.org.slug}/web:1`, /^pinnedReference: must start with the registry's host/],
      [`127.0.0.1:5000/${actor.org.slug}/web`, /^pinnedReference: must name a tag \(…:1\.2\) or a digest/],
      [`127.0.0.1:5000/${actor.org.slug}/web@sha256:1234`, /^pinnedReference: must be an image reference/],
      [`127.0.0.1:5000/${actor.org.slug}/web:${"1".repeat(600)}`, /at most 500 characters/],
      [42, /^pinnedReference: /],
    ];
    for (const [pinnedReference, message] of cases) {
      const res = await call(deviceRoute.PATCH, { method: "PATCH", token, params: { id: device.deviceId }, body: { pinnedReference } });
      expect(res.status, String(pinnedReference)).toBe(422);
      expect(res.body.error.message).toMatch(message);
      await expect(updateDevice(db, actor, device.deviceId, { pinnedReference })).rejects.toBeInstanceOf(ValidationError);
    }
    const empty = await call(deviceRoute.PATCH, { method: "PATCH", token, params: { id: device.deviceId }, body: {} });
    expect(empty.status).toBe(422);
    expect(empty.body.error.message).toMatch(/send name, pinnedReference or channelId/);
    const badName = await call(deviceRoute.PATCH, { method: "PATCH", token, params: { id: device.deviceId }, body: { name: "kiosk/1" } });
    expect(badName.status).toBe(422);
    expect(await deviceRow(device.deviceId)).toEqual(before);
    expect(await rowsOf(actor.org.id)).toEqual(rowsBefore);

    const digest = randomDigest();
    const pinned = await call(deviceRoute.PATCH, { method: "PATCH", token, params: { id: device.deviceId }, body: { pinnedReference: `127.0.0.1:5000/${actor.org.slug}/${flavour.name}@${digest}` } });
    expect(pinned.status).toBe(200);
    expect(pinned.body.pinnedReference).toBe(`127.0.0.1:5000/${actor.org.slug}/${flavour.name}@${digest}`);
    expect((await deviceRow(device.deviceId)).sequence).toBeGreaterThan(before.sequence);

    // Revoked devices stay revoked; changing one is a conflict.
    expect((await call(deviceRoute.DELETE, { method: "DELETE", token, params: { id: device.deviceId } })).status).toBe(200);
    const again = await call(deviceRoute.PATCH, { method: "PATCH", token, params: { id: device.deviceId }, body: { name: "back" } });
    expect(again.status).toBe(409);
    expect((await call(deviceRoute.DELETE, { method: "DELETE", token, params: { id: device.deviceId } })).status).toBe(409);
    const listed = await call(devicesRoute.GET, { token });
    expect(listed.body.devices).toEqual([]);
    const withRevoked = await call(devicesRoute.GET, { token, query: "?revoked=1" });
    expect(withRevoked.body.devices.map((d: { id: string }) => d.id)).toEqual([device.deviceId]);
  });

  it("creates registration tokens shown once and stored hashed, and revokes them once", async () => {
    const { actor, token, stable } = await customerWithFlavour();
    const created = await call(channelTokensRoute.POST, { method: "POST", token, params: { id: stable.id }, body: { name: "line 1", maxUses: 2, expiresInDays: 30 } });
    expect(created.status).toBe(201);
    expect(created.body.token).toMatch(/^strata_reg_[A-Za-z0-9_-]{43}$/);
    expect(created.body.summary).toMatchObject({ name: "line 1", maxUses: 2, uses: 0, revokedAt: null, prefix: created.body.token.slice(0, 17) });
    const [stored] = await db.select().from(registrationTokens).where(eq(registrationTokens.id, created.body.summary.id));
    expect(JSON.stringify(stored)).not.toContain(created.body.token);
    const listed = await call(channelTokensRoute.GET, { token, params: { id: stable.id } });
    expect(JSON.stringify(listed.body)).not.toContain(created.body.token);

    const before = await rowsOf(actor.org.id);
    for (const body of [{}, { name: "x", maxUses: 0 }, { name: "x", expiresInDays: 0 }, { name: "x", expiresInDays: 5000 }, { name: "x", uses: 3 }]) {
      const res = await call(channelTokensRoute.POST, { method: "POST", token, params: { id: stable.id }, body });
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.body.error.message).toBeTruthy();
    }
    expect(await rowsOf(actor.org.id)).toEqual(before);

    expect((await call(tokenRoute.DELETE, { method: "DELETE", token, params: { id: created.body.summary.id } })).status).toBe(204);
    const twice = await call(tokenRoute.DELETE, { method: "DELETE", token, params: { id: created.body.summary.id } });
    expect(twice.status).toBe(404);
    expect(twice.body.error.message).toMatch(/revoked already/);
  });
});
