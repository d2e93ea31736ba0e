// The device API (/api/device/v1) over real HTTP against the real PostgreSQL, as an agent sees it: registration,
// signed channel documents (checked with openssl, not with the code that signs them), ETags, sequences, expiry,
// rollouts, pins, the automatic halt, and every bad request refused without leaving a trace.
import crypto from "node:crypto";
import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { and, asc, count, eq } from "drizzle-orm";
import { closeTestDb, insertStandInBuild, makeActor, removeTestOrgs, testDb } from "../testing/fixtures";
import { auditLog, channels, deviceReports, devices, registrationTokens } from "../db/schema";
import type { Actor } from "../auth/actor";
import { ensureBundledBaseManifests, listBaseManifests } from "../base-manifests/base-manifests";
import { createFlavour } from "../flavours/flavours";
import { createChannel, pauseChannel, resumeChannel, setRollout, updateChannel } from "../channels/channels";
import { inRollout } from "../channels/rollout";
import { resetSigningKey, type SigningKey } from "../channels/signing";
import { approveRelease, requestRelease } from "../releases/releases";
import { createRegistrationToken, revokeRegistrationToken } from "./registration-tokens";
import { revokeDevice, updateDevice } from "./devices";
import { createDeviceApi, type DeviceApi, type DeviceApiOptions } from "./api";

const run = promisify(execFile);
const HOUR = 3_600_000;

// The process's own key is a different one: anything handed out must come from the key the API was given.
process.env.STRATA_SIGNING_KEY = crypto.generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
resetSigningKey();

function makeSigningKey(): SigningKey {
  const { privateKey, publicKey } = crypto.generateKeyPairSync("ed25519");
  return {
    privateKey,
    publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
    fingerprint: crypto.createHash("sha256").update(publicKey.export({ type: "spki", format: "der" })).digest("hex"),
  };
}

const db = testDb();
const key = makeSigningKey();
let clock = Date.now();
const roomy = { perDevice: { perMinute: 100_000 }, perAddress: { perMinute: 100_000 } };

const running: Array<{ api: DeviceApi; server: http.Server }> = [];
/** A device API on a real node:http server on a free port; anything outside /api/device/v1/ is a plain 404. */
async function serve(options: Partial<DeviceApiOptions> = {}): Promise<string> {
  const api = createDeviceApi({ db, key, now: () => clock, cacheMs: 0, limits: roomy, flushMs: 60_000, ...options });
  const server = http.createServer((req, res) => {
    if (!api.handle(req, res)) res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  running.push({ api, server });
  return `http://127.0.0.1:${(server.address() as { port: number }).port}/api/device/v1`;
}

let base: string;
let baseId: string;
let admin: Actor;
beforeAll(async () => {
  base = await serve();
  await ensureBundledBaseManifests(db);
  baseId = (await listBaseManifests(db)).find((b) => b.name === "strata-base")!.id;
  admin = await makeActor(db, { role: "admin" });
});
afterAll(async () => {
  for (const { api, server } of running) {
    await api.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  // The builds here are stand-ins without images: the repository backfill must not find them later in the run.
  await removeTestOrgs(db);
  await closeTestDb();
});

interface Answer {
  status: number;
  headers: Headers;
  body: Buffer;
  json: any;
}

async function request(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  const res = await fetch(url, { method: init.method ?? "GET", headers: init.headers, body: init.body });
  const body = Buffer.from(await res.arrayBuffer());
  const json = (res.headers.get("content-type") ?? "").includes("json") && body.length ? JSON.parse(body.toString("utf8")) : null;
  return { status: res.status, headers: res.headers, body, json };
}

interface Registered {
  deviceId: string;
  secret: string;
  channel: { id: string; name: string };
  flavour: { id: string; name: string };
  publicKey: string;
}

const postJson = (url: string, value: unknown, headers: Record<string, string> = {}) =>
  request(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(value) });

async function register(token: string, name = "kiosk-1", at = base): Promise<Registered> {
  const res = await postJson(`${at}/register`, { token, name, agentVersion: "0.1.0" });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  return res.json;
}

const deviceHeaders = (device: Registered, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${device.secret}`, "x-strata-device": device.deviceId, ...extra });

/** GET /channel as the device; `json` is the parsed document. */
const poll = (device: Registered, extra: Record<string, string> = {}, at = base) => request(`${at}/channel`, { headers: deviceHeaders(device, extra) });

const report = (device: Registered, value: unknown) => postJson(`${base}/status`, value, deviceHeaders(device));

const randomDigest = () => `sha256:${crypto.randomBytes(32).toString("hex")}`;

/** A customer, a flavour (with stable and beta) and a registration token for stable. */
async function customerWithFlavour() {
  const actor = await makeActor(db);
  const flavour = await createFlavour(db, actor, { baseManifestId: baseId, name: `fl-${crypto.randomUUID().slice(0, 8)}`, description: "" });
  const rows = await db.select().from(channels).where(eq(channels.flavourId, flavour.id));
  const stable = rows.find((c) => c.name === "stable")!;
  const beta = rows.find((c) => c.name === "beta")!;
  const { token } = await createRegistrationToken(db, actor, stable.id, { name: "line 1" });
  return { actor, flavour, stable, beta, token };
}

/** Requests and approves a release of a new stand-in build. */
async function release(actor: Actor, flavour: { id: string; name: string; imageRepository: string; latest: { id: string } }, channelId: string, version: string, opts: { rolloutPercent?: number; approve?: boolean } = {}) {
  const build = await insertStandInBuild(db, actor, flavour);
  const requested = await requestRelease(db, actor, channelId, { buildId: build.id, version, notes: `Release ${version}.` });
  if (opts.approve !== false) await approveRelease(db, admin, requested.id, { rolloutPercent: opts.rolloutPercent ?? 100 });
  return { ...requested, build };
}

/** Runs openssl on files, as someone checking a document by hand would. */
async function opensslVerify(body: Buffer, signatureBase64: string, publicKeyPem: string) {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "strata-document-"));
  try {
    await fs.writeFile(path.join(dir, "body"), body);
    await fs.writeFile(path.join(dir, "sig"), Buffer.from(signatureBase64, "base64"));
    await fs.writeFile(path.join(dir, "key.pem"), publicKeyPem);
    const args = ["pkeyutl", "-verify", "-pubin", "-inkey", "key.pem", "-rawin", "-in", "body", "-sigfile", "sig"];
    try {
      const { stdout } = await run("openssl", args, { cwd: dir });
      return { exitCode: 0, output: stdout };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { exitCode: e.code, output: `${e.stdout}${e.stderr}` };
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

const deviceCount = async (orgId: string) => (await db.select({ n: count() }).from(devices).where(eq(devices.orgId, orgId)))[0].n;
const reportCount = async (deviceId: string) => (await db.select({ n: count() }).from(deviceReports).where(eq(deviceReports.deviceId, deviceId)))[0].n;

describe("registration and signed documents", () => {
  it("registers a device with a token and serves it a document that openssl verifies; one changed byte fails", async () => {
    const { actor, flavour, stable, token } = await customerWithFlavour();
    const device = await register(token);
    expect(device.deviceId).toMatch(/^[0-9a-f-]{36}$/);
    expect(device.secret).toMatch(/^strata_dev_[A-Za-z0-9_-]{43}$/);
    expect(device.channel).toEqual({ id: stable.id, name: "stable" });
    expect(device.flavour).toEqual({ id: flavour.id, name: flavour.name });
    const [row] = await db.select().from(devices).where(eq(devices.id, device.deviceId));
    expect(row).toMatchObject({ orgId: actor.org.id, channelId: stable.id, name: "kiosk-1", agentVersion: "0.1.0", revokedAt: null });
    expect(row.secretHash).not.toContain(device.secret);

    const keys = await request(`${base}/keys`);
    expect(keys.status).toBe(200);
    expect(keys.headers.get("content-type")).toBe("application/x-pem-file");
    expect(keys.body.toString()).toBe(key.publicKeyPem);
    // The key the device pins at registration is the one its documents are signed with.
    expect(device.publicKey).toBe(key.publicKeyPem);

    const res = await poll(device);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    const doc = res.json;
    expect(Object.keys(doc)).toEqual(["schema", "sequence", "issuedAt", "expiresAt", "device", "flavour", "channel", "pinned", "release", "target"]);
    expect(doc).toMatchObject({
      schema: "strata.channel.v1",
      device: device.deviceId,
      flavour: { id: flavour.id, name: flavour.name },
      channel: { id: stable.id, name: "stable", paused: false, haltReason: null },
      pinned: false,
      release: null,
      target: null,
    });
    expect(res.headers.get("x-strata-sequence")).toBe(String(doc.sequence));

    const signature = res.headers.get("x-strata-signature")!;
    const verified = await opensslVerify(res.body, signature, keys.body.toString());
    expect(verified).toEqual({ exitCode: 0, output: expect.stringContaining("Signature Verified Successfully") });

    const tampered = Buffer.from(res.body);
    const at = tampered.indexOf('"pinned": false') + '"pinned": '.length;
    // "pinned": false → "pinned": talse: one byte.
    tampered[at] = "t".charCodeAt(0);
    expect(tampered.equals(res.body)).toBe(false);
    const refused = await opensslVerify(tampered, signature, keys.body.toString());
    expect(refused.exitCode).not.toBe(0);
    expect(refused.output).toMatch(/Signature Verification Failure/);
    // Nor does another key verify it.
    expect((await opensslVerify(res.body, signature, makeSigningKey().publicKeyPem)).exitCode).not.toBe(0);

    // The token counted the use; "last seen" is written in batches.
    const [tokenRow] = await db.select().from(registrationTokens).where(eq(registrationTokens.channelId, stable.id));
    expect(tokenRow.uses).toBe(1);
    await poll(device, { "x-forwarded-for": "198.51.100.7" });
    await running[0].api.flush();
    const [seen] = await db.select().from(devices).where(eq(devices.id, device.deviceId));
    expect(seen.lastAddress).toBe("198.51.100.7");
  });

  it("answers 304 to If-None-Match with the current ETag, and 200 with the document to an old one", async () => {
    const { actor, flavour, stable, token } = await customerWithFlavour();
    const device = await register(token);
    const first = await poll(device);
    const etag = first.headers.get("etag")!;
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);

    const same = await poll(device, { "if-none-match": etag });
    expect(same.status).toBe(304);
    expect(same.body.length).toBe(0);
    expect(same.headers.get("etag")).toBe(etag);

    await release(actor, flavour, stable.id, "1.0.0");
    const changed = await poll(device, { "if-none-match": etag });
    expect(changed.status).toBe(200);
    expect(changed.headers.get("etag")).not.toBe(etag);
    expect(changed.json.target.version).toBe("1.0.0");
    expect((await poll(device, { "if-none-match": '"0123456789abcdef0123456789abcdef"' })).status).toBe(200);
  });

  it("grows the sequence with every approval, pause, pin and move, and never goes back on a move to a channel with an older one", async () => {
    const { actor, flavour, stable, beta, token } = await customerWithFlavour();
    const device = await register(token);
    const seen: number[] = [];
    const etags = new Set<string>();
    const next = async () => {
      const res = await poll(device);
      expect(res.status).toBe(200);
      if (seen.length) expect(res.json.sequence).toBeGreaterThan(seen[seen.length - 1]);
      seen.push(res.json.sequence);
      etags.add(res.headers.get("etag")!);
      return res.json;
    };
    await next();

    const first = await release(actor, flavour, stable.id, "1.0.0");
    const approved = await next();
    expect(approved.target).toEqual({ image: first.imageRef, digest: first.imageDigest, version: "1.0.0", releaseId: first.id });
    expect(approved.release).toEqual({ id: first.id, version: "1.0.0", notes: "Release 1.0.0.", image: first.imageRef, digest: first.imageDigest, size: first.build.imageSize, rolloutPercent: 100 });

    await pauseChannel(db, admin, stable.id, { reason: "Waiting for the shop to close." });
    const paused = await next();
    expect(paused.channel.paused).toBe(true);
    // Paused: stay where you are.
    expect(paused.target).toBeNull();
    expect(paused.release.id).toBe(first.id);

    await resumeChannel(db, admin, stable.id);
    expect((await next()).target.releaseId).toBe(first.id);

    await updateDevice(db, actor, device.deviceId, { pinnedReference: `127.0.0.1:5000/${actor.org.slug}/${flavour.name}:r1.1` });
    expect((await next()).pinned).toBe(true);
    await updateDevice(db, actor, device.deviceId, { pinnedReference: null });
    expect((await next()).pinned).toBe(false);

    // beta has not changed since the flavour was made: its own sequence is far behind the device's document.
    const [betaRow] = await db.select().from(channels).where(eq(channels.id, beta.id));
    expect(betaRow.sequence).toBeLessThan(seen[seen.length - 1]);
    await updateDevice(db, actor, device.deviceId, { channelId: beta.id });
    const moved = await next();
    expect(moved.channel).toMatchObject({ id: beta.id, name: "beta" });
    expect(moved.target).toBeNull();
    expect(etags.size).toBe(seen.length);
  });

  it("expires a document a day after it was issued, and re-issues it every hour with the same sequence", async () => {
    const { token } = await customerWithFlavour();
    const device = await register(token);
    const first = await poll(device);
    const issuedAt = Date.parse(first.json.issuedAt);
    expect(issuedAt).toBe(Math.floor(clock / HOUR) * HOUR);
    expect(Date.parse(first.json.expiresAt)).toBe(issuedAt + 24 * HOUR);

    // The same hour, another process with the same key: the same bytes and signature, so the ETag holds.
    const other = await serve();
    const elsewhere = await poll(device, {}, other);
    expect(elsewhere.body.equals(first.body)).toBe(true);
    expect(elsewhere.headers.get("x-strata-signature")).toBe(first.headers.get("x-strata-signature"));
    expect((await poll(device, { "if-none-match": first.headers.get("etag")! }, other)).status).toBe(304);

    clock += HOUR;
    const later = await poll(device, { "if-none-match": first.headers.get("etag")! });
    expect(later.status).toBe(200);
    expect(later.headers.get("etag")).not.toBe(first.headers.get("etag"));
    expect(later.json.sequence).toBe(first.json.sequence);
    expect(Date.parse(later.json.issuedAt)).toBe(issuedAt + HOUR);
    expect(Date.parse(later.json.expiresAt)).toBe(issuedAt + 25 * HOUR);
    // Re-signed long before the first one ran out.
    expect(Date.parse(later.json.issuedAt)).toBeLessThan(Date.parse(first.json.expiresAt));
    expect((await opensslVerify(later.body, later.headers.get("x-strata-signature")!, key.publicKeyPem)).exitCode).toBe(0);
  });

  it("gives a pinned device its reference, with the digest of an @sha256: reference and none for a tag", async () => {
    const { actor, flavour, stable, token } = await customerWithFlavour();
    await release(actor, flavour, stable.id, "1.0.0");
    const device = await register(token);
    const byDigest = `127.0.0.1:5000/${actor.org.slug}/${flavour.name}@${randomDigest()}`;
    await updateDevice(db, actor, device.deviceId, { pinnedReference: byDigest });
    const pinned = (await poll(device)).json;
    expect(pinned.pinned).toBe(true);
    expect(pinned.release).toBeNull();
    expect(pinned.target).toEqual({ image: byDigest, digest: byDigest.split("@")[1], version: null, releaseId: null });

    const byTag = `127.0.0.1:5000/${actor.org.slug}/${flavour.name}:r1.1`;
    await updateDevice(db, actor, device.deviceId, { pinnedReference: byTag });
    expect((await poll(device)).json.target).toEqual({ image: byTag, digest: null, version: null, releaseId: null });
  });

  it("gives a device outside a 25 % rollout the previous release and one inside the new one, until the rollout grows", async () => {
    const { actor, flavour, stable, token } = await customerWithFlavour();
    const first = await release(actor, flavour, stable.id, "1.0.0");
    const second = await release(actor, flavour, stable.id, "1.1.0", { approve: false });
    // Which devices are in is a hash of the device and release ids: register until there is one of each.
    let inside: Registered | undefined;
    let outside: Registered | undefined;
    for (let i = 0; i < 60 && !(inside && outside); i++) {
      const device = await register(token, `kiosk-${i}`);
      if (inRollout(device.deviceId, second.id, 25)) inside ??= device;
      else outside ??= device;
    }
    expect(inside && outside).toBeTruthy();
    await approveRelease(db, admin, second.id, { rolloutPercent: 25 });

    const inDoc = (await poll(inside!)).json;
    expect(inDoc.release).toMatchObject({ id: second.id, version: "1.1.0", rolloutPercent: 25 });
    expect(inDoc.target).toEqual({ image: second.imageRef, digest: second.imageDigest, version: "1.1.0", releaseId: second.id });
    const outDoc = (await poll(outside!)).json;
    expect(outDoc.release).toMatchObject({ id: first.id, version: "1.0.0", rolloutPercent: 100 });
    expect(outDoc.target).toEqual({ image: first.imageRef, digest: first.imageDigest, version: "1.0.0", releaseId: first.id });

    await setRollout(db, admin, stable.id, { percent: 100 });
    expect((await poll(outside!)).json.target.releaseId).toBe(second.id);
    expect((await poll(inside!)).json.target.releaseId).toBe(second.id);
  });
});

describe("automatic halt", () => {
  it("halts the rollout when 2 of 5 devices report a failed upgrade (threshold 20 %), and an admin's resume clears it", async () => {
    const { actor, flavour } = await customerWithFlavour();
    const canary = await createChannel(db, actor, flavour.id, { name: "canary" });
    await updateChannel(db, actor, canary.id, { failureThresholdPercent: 20, failureMinReports: 5 });
    const { token } = await createRegistrationToken(db, actor, canary.id, { name: "canary devices", maxUses: 5 });
    const fleet: Registered[] = [];
    for (let i = 0; i < 5; i++) fleet.push(await register(token, `kiosk-${i}`));
    const current = await release(actor, flavour, canary.id, "2.0.0");
    const outcome = (result: "success" | "failure") => ({
      result,
      currentDigest: result === "success" ? current.imageDigest : randomDigest(),
      version: result === "success" ? "2.0.0" : "1.9.0",
      releaseId: current.id,
      message: result === "failure" ? "the new slot did not boot; rolled back" : "",
      agentVersion: "0.1.0",
    });

    for (const device of fleet.slice(0, 4)) expect((await report(device, outcome("success"))).status).toBe(204);
    expect((await report(fleet[4], outcome("failure"))).status).toBe(204);
    // 1 of 5 is 20 %: not above the threshold.
    const [stillRunning] = await db.select().from(channels).where(eq(channels.id, canary.id));
    expect(stillRunning).toMatchObject({ haltedAt: null, haltReason: null });
    const beforeHalt = (await poll(fleet[0])).json;
    expect(beforeHalt.target.releaseId).toBe(current.id);
    const [failedDevice] = await db.select().from(devices).where(eq(devices.id, fleet[4].deviceId));
    // A failure names what failed to install, not what runs: the version the device runs stays as it was.
    expect(failedDevice).toMatchObject({ lastResult: "failure", currentVersion: null, lastMessage: "the new slot did not boot; rolled back" });
    const [upgraded] = await db.select().from(devices).where(eq(devices.id, fleet[0].deviceId));
    expect(upgraded).toMatchObject({ lastResult: "success", currentVersion: "2.0.0", currentDigest: current.imageDigest });

    expect((await report(fleet[3], outcome("failure"))).status).toBe(204);
    const [halted] = await db.select().from(channels).where(eq(channels.id, canary.id));
    expect(halted.haltedAt).not.toBeNull();
    expect(halted.haltReason).toMatch(/^2 of 5 devices reported a failed upgrade to 2\.0\.0 \(40 %, above the channel's 20 % with at least 5 reports\)/);
    const haltedDoc = (await poll(fleet[0])).json;
    expect(haltedDoc.channel).toMatchObject({ paused: false, haltReason: halted.haltReason });
    expect(haltedDoc.target).toBeNull();
    expect(haltedDoc.sequence).toBeGreaterThan(beforeHalt.sequence);

    // One more failure does not halt (or audit) again.
    expect((await report(fleet[2], outcome("failure"))).status).toBe(204);
    const halts = await db.select().from(auditLog).where(and(eq(auditLog.channelId, canary.id), eq(auditLog.action, "channel.halt")));
    expect(halts).toHaveLength(1);
    expect(halts[0]).toMatchObject({ orgId: actor.org.id, actorUserId: null, subject: current.id, detail: { before: { halted: null }, after: { halted: halted.haltReason }, reported: 5, failed: 2 } });
    expect(await db.select({ n: count() }).from(deviceReports).where(eq(deviceReports.channelId, canary.id))).toEqual([{ n: 7 }]);

    await resumeChannel(db, admin, canary.id);
    const resumed = (await poll(fleet[0])).json;
    expect(resumed.channel.haltReason).toBeNull();
    expect(resumed.target.releaseId).toBe(current.id);
    const resumes = await db.select().from(auditLog).where(and(eq(auditLog.channelId, canary.id), eq(auditLog.action, "channel.resume"))).orderBy(asc(auditLog.id));
    expect(resumes.map((r) => r.detail)).toEqual([{ before: { paused: false, halted: halted.haltReason }, after: { paused: false, halted: null } }]);
  });

  it("counts only reports on the channel's own releases", async () => {
    const { actor, flavour, stable, beta, token } = await customerWithFlavour();
    await updateChannel(db, actor, stable.id, { failureThresholdPercent: 1, failureMinReports: 1 });
    const device = await register(token);
    await release(actor, flavour, stable.id, "1.0.0");
    const elsewhere = await release(actor, flavour, beta.id, "1.0.0");
    expect((await report(device, { result: "failure", releaseId: elsewhere.id })).status).toBe(204);
    const [row] = await db.select().from(channels).where(eq(channels.id, stable.id));
    expect(row.haltedAt).toBeNull();
    const [stored] = await db.select().from(deviceReports).where(eq(deviceReports.deviceId, device.deviceId));
    expect(stored).toMatchObject({ result: "failure", releaseId: null, channelId: stable.id });
  });
});

describe("bad requests", () => {
  it("refuses a missing, unknown or revoked secret with 401, and another device's id with 403", async () => {
    const { actor, token } = await customerWithFlavour();
    const a = await register(token, "kiosk-a");
    const b = await register(token, "kiosk-b");
    const refusals: Array<[Record<string, string>, number, RegExp]> = [
      [{}, 401, /Authorization: Bearer strata_dev_/],
      [{ authorization: "Basic a2lvc2s6c2VjcmV0" }, 401, /Authorization: Bearer strata_dev_/],
      [{ authorization: "Bearer strata_pat_notadevice" }, 401, /Authorization: Bearer strata_dev_/],
      [{ authorization: `Bearer strata_dev_${crypto.randomBytes(32).toString("base64url")}` }, 401, /Unknown device secret/],
      [{ authorization: `Bearer ${a.secret}`, "x-strata-device": b.deviceId }, 403, /belongs to another device than X-Strata-Device names/],
    ];
    for (const [headers, status, message] of refusals) {
      const get = await request(`${base}/channel`, { headers });
      expect(get.status, JSON.stringify(headers)).toBe(status);
      expect(get.json.error.message).toMatch(message);
      if (status === 401) expect(get.headers.get("www-authenticate")).toBe('Bearer realm="strata-device"');
      const post = await postJson(`${base}/status`, { result: "success" }, headers);
      expect(post.status).toBe(status);
    }
    expect(await reportCount(a.deviceId)).toBe(0);
    expect(await reportCount(b.deviceId)).toBe(0);

    expect((await poll(a)).status).toBe(200);
    await revokeDevice(db, actor, a.deviceId);
    const revoked = await poll(a);
    expect(revoked.status).toBe(401);
    expect(revoked.json.error.message).toMatch(/This device was revoked/);
    expect((await report(a, { result: "success" })).status).toBe(401);
    expect(await reportCount(a.deviceId)).toBe(0);
    expect((await poll(b)).status).toBe(200);
  });

  it("refuses revoked, expired, used-up and unknown registration tokens with 401 saying which, creating no device", async () => {
    const { actor, stable } = await customerWithFlavour();
    const revoked = await createRegistrationToken(db, actor, stable.id, { name: "revoked" });
    await revokeRegistrationToken(db, actor, revoked.summary.id);
    const expired = await createRegistrationToken(db, actor, stable.id, { name: "expired", expiresInDays: 1 });
    // Time passing: a token only gets an expiry in whole days from now, so its day is set to have ended.
    const expiredAt = new Date(Date.now() - 60_000);
    await db.update(registrationTokens).set({ expiresAt: expiredAt }).where(eq(registrationTokens.id, expired.summary.id));
    const single = await createRegistrationToken(db, actor, stable.id, { name: "single", maxUses: 1 });
    await register(single.token, "the-one");

    const devicesBefore = await deviceCount(actor.org.id);
    const tokensBefore = await db.select().from(registrationTokens).where(eq(registrationTokens.channelId, stable.id)).orderBy(asc(registrationTokens.id));
    const cases: Array<[string, RegExp]> = [
      [revoked.token, /^The registration token was revoked; ask for a new one/],
      [expired.token, new RegExp(`^The registration token expired on ${expiredAt.toISOString().replace(/\./g, "\\.")}`)],
      [single.token, /^The registration token is used up \(1 of 1 devices\)/],
      [`strata_reg_${crypto.randomBytes(32).toString("base64url")}`, /^The registration token is unknown/],
      ["hunter2", /is not a Strata registration token \(they start with strata_reg_\)/],
    ];
    for (const [token, message] of cases) {
      const res = await postJson(`${base}/register`, { token, name: "kiosk-2" });
      expect(res.status, message.source).toBe(401);
      expect(res.json.error.message).toMatch(message);
    }
    const malformed: Array<[unknown, number, RegExp]> = [
      [{ name: "kiosk-2" }, 422, /^token: /],
      [{ token: single.token, name: "kiosk/2" }, 422, /^name: name may hold letters/],
      [{ token: single.token, name: "" }, 422, /^name: /],
      [{ token: single.token, name: "k".repeat(101) }, 422, /at most 100 characters/],
      [{ token: single.token, name: "kiosk-2", secret: "mine" }, 422, /secret/],
      [[single.token], 422, /./],
    ];
    for (const [body, status, message] of malformed) {
      const res = await postJson(`${base}/register`, body);
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(res.json.error.message).toMatch(message);
    }
    const notJson = await request(`${base}/register`, { method: "POST", headers: { "content-type": "application/json" }, body: "{token:" });
    expect(notJson.status).toBe(400);
    expect(notJson.json.error.message).toBe("The request body is not valid JSON.");
    const big = await postJson(`${base}/register`, { token: single.token, name: "kiosk-2", agentVersion: "x".repeat(17 * 1024) });
    expect(big.status).toBe(413);
    expect(big.json.error.message).toMatch(/larger than 16 KiB/);

    expect(await deviceCount(actor.org.id)).toBe(devicesBefore);
    expect(await db.select().from(registrationTokens).where(eq(registrationTokens.channelId, stable.id)).orderBy(asc(registrationTokens.id))).toEqual(tokensBefore);
  });

  it("refuses malformed status reports with a 4xx and a message, storing nothing", async () => {
    const { token } = await customerWithFlavour();
    const device = await register(token);
    const cases: Array<[unknown, RegExp]> = [
      [{ result: "maybe" }, /^result: result is success, failure or none/],
      [{}, /^result: /],
      [{ result: "success", currentDigest: "sha256:abc" }, /^currentDigest: currentDigest must be sha256:<64 hex>/],
      [{ result: "success", currentDigest: `md5:${"a".repeat(32)}` }, /^currentDigest: /],
      [{ result: "failure", message: "x".repeat(2001) }, /^message: message is at most 2,000 characters/],
      [{ result: "success", releaseId: "1.0.0" }, /^releaseId: releaseId must be a release id/],
      [{ result: "success", uptime: 5 }, /uptime/],
      [["success"], /./],
    ];
    for (const [body, message] of cases) {
      const res = await report(device, body);
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(422);
      expect(res.json.error.message).toMatch(message);
    }
    const raw: Array<[string, string, number, RegExp]> = [
      ["application/json", "result=success", 400, /not valid JSON/],
      ["text/plain", '{"result":"success"}', 400, /Send the request body as JSON/],
    ];
    for (const [type, body, status, message] of raw) {
      const res = await request(`${base}/status`, { method: "POST", headers: deviceHeaders(device, { "content-type": type }), body });
      expect(res.status).toBe(status);
      expect(res.json.error.message).toMatch(message);
    }
    const big = await report(device, { result: "failure", message: "x".repeat(16 * 1024) });
    expect(big.status).toBe(413);
    expect(big.json.error.message).toMatch(/larger than 16 KiB/);

    expect(await reportCount(device.deviceId)).toBe(0);
    const [row] = await db.select().from(devices).where(eq(devices.id, device.deviceId));
    expect(row).toMatchObject({ lastResult: null, lastReportAt: null, currentDigest: null });
    // A good one after all that is stored.
    expect((await report(device, { result: "none", currentDigest: null })).status).toBe(204);
    expect(await reportCount(device.deviceId)).toBe(1);
  });

  it("answers a body over 16 KiB sent without a length (chunked) with 413 too", async () => {
    const { token } = await customerWithFlavour();
    const device = await register(token);
    const url = new URL(`${base}/status`);
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: "POST", headers: { ...deviceHeaders(device), "content-type": "application/json", "transfer-encoding": "chunked" } }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode!, body }));
      });
      req.on("error", reject);
      req.write(`{"result":"failure","message":"`);
      for (let i = 0; i < 10; i++) req.write("x".repeat(4096));
      req.end(`"}`);
    });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body).error.message).toMatch(/larger than 16 KiB/);
    expect(await reportCount(device.deviceId)).toBe(0);
  });

  it("answers an unknown path with 404 JSON and a wrong method with 405 naming the right one", async () => {
    const unknown = await request(`${base}/devices`);
    expect(unknown.status).toBe(404);
    expect(unknown.json.error).toEqual({ code: "not_found", message: "No device endpoint /api/device/v1/devices; there are register, channel, status, keys and agent.mjs." });
    expect((await request(`${base}/agent.mjs`)).json.error.message).toMatch(/agent bundle is not built/);

    const cases: Array<[string, string, string]> = [
      ["POST", "channel", "GET"],
      ["DELETE", "channel", "GET"],
      ["GET", "register", "POST"],
      ["PUT", "status", "POST"],
      ["POST", "keys", "GET"],
    ];
    for (const [method, endpoint, allowed] of cases) {
      const res = await request(`${base}/${endpoint}`, { method });
      expect(res.status, `${method} ${endpoint}`).toBe(405);
      expect(res.headers.get("allow")).toBe(allowed);
      expect(res.json.error.message).toBe(`Use ${allowed} here.`);
    }
  });

  it("rate limits each device and each address with 429 and Retry-After", async () => {
    const { token } = await customerWithFlavour();
    const a = await register(token, "kiosk-a");
    const b = await register(token, "kiosk-b");
    let limitedClock = clock;
    // 3 a minute per device (one every 20 s), 5 a minute per address (one every 12 s).
    const limited = await serve({ now: () => limitedClock, limits: { perDevice: { perMinute: 3 }, perAddress: { perMinute: 5 } } });
    const from = (address: string) => ({ "x-forwarded-for": address });

    for (let i = 0; i < 3; i++) expect((await poll(a, from("203.0.113.1"), limited)).status).toBe(200);
    const tooOften = await poll(a, from("203.0.113.2"), limited);
    expect(tooOften.status).toBe(429);
    expect(tooOften.headers.get("retry-after")).toBe("20");
    expect(tooOften.json.error).toEqual({ code: "rate_limited", message: "This device asks too often; try again in 20 s." });
    // Another device is not held back by it.
    expect((await poll(b, from("203.0.113.2"), limited)).status).toBe(200);

    for (let i = 0; i < 5; i++) expect((await request(`${limited}/keys`, { headers: from("203.0.113.9") })).status).toBe(200);
    const crowded = await request(`${limited}/keys`, { headers: from("203.0.113.9") });
    expect(crowded.status).toBe(429);
    expect(crowded.headers.get("retry-after")).toBe("12");
    expect(crowded.json.error.message).toBe("Too many requests from this address; try again in 12 s.");
    // Registration from that address is held back too, before the token is even looked at.
    const devicesBefore = await db.select({ n: count() }).from(devices);
    expect((await postJson(`${limited}/register`, { token, name: "kiosk-c" }, from("203.0.113.9"))).status).toBe(429);
    expect(await db.select({ n: count() }).from(devices)).toEqual(devicesBefore);
    expect((await request(`${limited}/keys`, { headers: from("203.0.113.10") })).status).toBe(200);

    limitedClock += 20_000;
    expect((await poll(a, from("203.0.113.3"), limited)).status).toBe(200);
  });
});

describe("the change feed", () => {
  it("holds rows for minutes, yet a revocation, a pin and an approval in the portal reach the device at once", async () => {
    // A real clock here: the feed is PostgreSQL's LISTEN/NOTIFY, delivered when the verb's transaction commits.
    const at = await serve({ now: Date.now, cacheMs: 600_000, feedCacheMs: 600_000, changeFeed: { databaseUrl: inject("databaseUrl") } });
    const { actor, flavour, stable, token } = await customerWithFlavour();
    const device = await register(token, "kiosk-feed", at);
    const other = await register(token, "kiosk-feed-2", at);
    // Both rows and the channel's state are cached now.
    expect((await poll(device, {}, at)).json.target).toBeNull();
    expect((await poll(other, {}, at)).status).toBe(200);

    const first = await release(actor, flavour, stable.id, "1.0.0");
    await expect.poll(async () => (await poll(device, {}, at)).json.target?.releaseId, { timeout: 3000, interval: 50 }).toBe(first.id);

    const reference = `127.0.0.1:5000/${actor.org.slug}/${flavour.name}:pinned`;
    await updateDevice(db, actor, device.deviceId, { pinnedReference: reference });
    await expect.poll(async () => (await poll(device, {}, at)).json.target?.image, { timeout: 3000, interval: 50 }).toBe(reference);

    await revokeDevice(db, actor, other.deviceId);
    await expect.poll(async () => (await poll(other, {}, at)).status, { timeout: 3000, interval: 50 }).toBe(401);
  });
});
