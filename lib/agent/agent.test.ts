// One agent cycle end to end against in-memory stand-ins for the portal and the registry (see fakes.ts).
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { nextDelay, runCycle, type AgentOptions } from "./agent";
import { FakePortal, FakeRegistry, makeLayer, sha256 } from "./fakes";
import { AGENT_VERSION } from "./version";

let root: string;
let portal: FakePortal;
let registry: FakeRegistry;
let logs: string[];

beforeEach(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "strata-agent-"));
  portal = new FakePortal();
  registry = new FakeRegistry();
  await Promise.all([portal.start(), registry.start()]);
  logs = [];
});
afterEach(async () => {
  await Promise.all([portal.stop(), registry.stop()]);
  fs.rmSync(root, { recursive: true, force: true });
});

const options = (extra: Partial<AgentOptions> = {}): AgentOptions => ({
  root,
  server: portal.url,
  token: portal.token,
  name: "kiosk-1",
  registryCredentials: null,
  log: (line) => logs.push(line),
  chown: false,
  ...extra,
});

async function release(version: string, layers: Buffer[]) {
  const digest = registry.addImage(layers);
  const target = { image: `${registry.host}/acme/web@${digest}`, digest, version, releaseId: crypto.randomUUID() };
  portal.publish(target);
  return target;
}

const base = () => makeLayer([{ name: "etc/" }, { name: "etc/os-release", content: "VERSION=1\n" }, { name: "etc/motd", content: "welcome\n" }]);
const slotFile = (slot: string, rel: string) => path.join(root, "slots", slot, rel);
const active = () => fs.readFileSync(path.join(root, "active"), "utf8");

describe("runCycle", () => {
  it("registers, pins the portal's key, installs the target into slot a, switches and reports success", async () => {
    const target = await release("1.2.0", [await base()]);

    expect(await runCycle(options())).toEqual({ kind: "upgraded", digest: target.digest, slot: "a" });

    expect(active()).toBe("a\n");
    expect(fs.readFileSync(slotFile("a", "etc/os-release"), "utf8")).toBe("VERSION=1\n");
    expect(fs.readFileSync(path.join(root, "channel-key.pem"), "utf8")).toBe(portal.publicKeyPem);
    const state = JSON.parse(fs.readFileSync(path.join(root, "agent.json"), "utf8"));
    expect(state).toMatchObject({ deviceId: portal.deviceId, secret: portal.secret, lastSequence: 1 });
    expect(fs.statSync(path.join(root, "agent.json")).mode & 0o777).toBe(0o600);
    expect(portal.reports).toEqual([
      {
        result: "success",
        currentDigest: target.digest,
        version: "1.2.0",
        releaseId: target.releaseId,
        message: `upgraded to 1.2.0 (${target.digest}) in slot a`,
        agentVersion: AGENT_VERSION,
      },
    ]);
  });

  it("polls with If-None-Match: an unchanged document is nothing to do and sends no second report", async () => {
    await release("1.2.0", [await base()]);
    await runCycle(options());
    const fetchesBefore = registry.requests.length;

    expect(await runCycle(options({ token: undefined, name: undefined }))).toEqual({ kind: "unchanged" });
    expect(portal.channelRequests.map((r) => r.status)).toEqual([200, 304]);
    expect(portal.channelRequests[1].ifNoneMatch).toMatch(/^"[0-9a-f]+"$/);
    expect(registry.requests.length).toBe(fetchesBefore);
    expect(portal.reports).toHaveLength(1);
  });

  it("unpacks the next release into the passive slot b, whiteouts applied, and leaves slot a as it was", async () => {
    await release("1.0.0", [await base()]);
    await runCycle(options());
    const upper = await makeLayer([{ name: "etc/.wh.motd", content: "" }, { name: "etc/os-release", content: "VERSION=2\n" }]);
    const second = await release("2.0.0", [await base(), upper]);

    expect(await runCycle(options())).toMatchObject({ kind: "upgraded", slot: "b" });
    expect(active()).toBe("b\n");
    expect(fs.readFileSync(slotFile("b", "etc/os-release"), "utf8")).toBe("VERSION=2\n");
    expect(fs.existsSync(slotFile("b", "etc/motd"))).toBe(false);
    expect(fs.readFileSync(slotFile("a", "etc/os-release"), "utf8")).toBe("VERSION=1\n");
    expect(portal.reports.at(-1)).toMatchObject({ result: "success", currentDigest: second.digest, message: `upgraded to 2.0.0 (${second.digest}) in slot b` });
  });

  it("fails on a layer whose bytes do not match its digest: active slot untouched, failure reported; the next try starts from a wiped slot", async () => {
    const first = await release("1.0.0", [await base()]);
    await runCycle(options());
    const upper = await makeLayer([{ name: "etc/os-release", content: "VERSION=2\n" }]);
    const second = await release("2.0.0", [await base(), upper]);
    // A well-formed layer under the wrong digest: only the digest check can catch it.
    registry.tampered.set(sha256(upper), await makeLayer([{ name: "etc/evil", content: "x" }]));

    await expect(runCycle(options())).rejects.toThrow(/upgrade to 2\.0\.0 .* failed: layer 2 of 2 \(sha256:[0-9a-f]+\): The blob .* has digest sha256:/);
    expect(active()).toBe("a\n");
    expect(fs.existsSync(path.join(root, "slots", "b.json"))).toBe(false);
    expect(portal.reports.at(-1)).toMatchObject({
      result: "failure",
      currentDigest: first.digest,
      version: "2.0.0",
      releaseId: second.releaseId,
      agentVersion: AGENT_VERSION,
    });
    expect(portal.reports.at(-1)!.message).toMatch(/has digest sha256:[0-9a-f]+, but its digest says/);
    // The passive slot may keep what was unpacked before the mismatch showed; it is wiped before the next try.
    fs.mkdirSync(slotFile("b", "etc"), { recursive: true });
    fs.writeFileSync(slotFile("b", "etc/half-written"), "x");

    // The document is unchanged (304), yet its target is still not installed: the agent tries again.
    registry.tampered.clear();
    expect(await runCycle(options())).toMatchObject({ kind: "upgraded", slot: "b" });
    expect(fs.existsSync(slotFile("b", "etc/half-written"))).toBe(false);
    expect(fs.existsSync(slotFile("b", "etc/evil"))).toBe(false);
    expect(portal.channelRequests.at(-1)!.status).toBe(304);
  });

  it("refuses a document altered on the way, reports why, and keeps its last accepted sequence", async () => {
    await release("1.0.0", [await base()]);
    await runCycle(options());
    await release("2.0.0", [await base()]);
    portal.alter = (body) => Buffer.from(body.toString().replace("2.0.0", "9.9.9"));

    await expect(runCycle(options())).rejects.toThrow("refused the channel document: signature does not verify with the pinned key");
    expect(portal.reports.at(-1)).toMatchObject({ result: "failure", message: "refused the channel document: signature does not verify with the pinned key" });
    expect(active()).toBe("a\n");
    expect(JSON.parse(fs.readFileSync(path.join(root, "agent.json"), "utf8")).lastSequence).toBe(1);
  });

  it("refuses a replayed document with a lower sequence", async () => {
    await release("1.0.0", [await base()]);
    await runCycle(options());
    portal.publish(null, { sequence: 0 });
    await expect(runCycle(options())).rejects.toThrow(/replayed: its sequence 0 is lower than the last accepted 1/);
  });

  it("resolves a pinned tag through the registry and picks linux/amd64 from an index", async () => {
    const amd64 = registry.addImage([await makeLayer([{ name: "arch", content: "amd64" }])]);
    const arm64 = registry.addImage([await makeLayer([{ name: "arch", content: "arm64" }])]);
    const indexType = "application/vnd.oci.image.index.v1+json";
    const manifestType = "application/vnd.oci.image.manifest.v1+json";
    const index = registry.addManifest(
      {
        schemaVersion: 2,
        mediaType: indexType,
        manifests: [
          { mediaType: manifestType, digest: arm64, size: 1, platform: { os: "linux", architecture: "arm64" } },
          { mediaType: manifestType, digest: amd64, size: 1, platform: { os: "linux", architecture: "amd64" } },
        ],
      },
      indexType,
      "pinned",
    );
    const image = `${registry.host}/acme/web:pinned`;
    portal.publish({ image, digest: null, version: null, releaseId: null }, { pinned: true });

    expect(await runCycle(options())).toEqual({ kind: "upgraded", digest: index, slot: "a" });
    expect(fs.readFileSync(slotFile("a", "arch"), "utf8")).toBe("amd64");
    expect(portal.reports.at(-1)).toMatchObject({ result: "success", currentDigest: index, version: null, message: `upgraded to ${image} (${index}) in slot a` });
    // Same document, tag unchanged: the tag is looked up again, nothing is pulled.
    expect(await runCycle(options())).toEqual({ kind: "unchanged" });
    expect(registry.requests.at(-1)).toBe("HEAD /v2/acme/web/manifests/pinned");
  });

  it("sends a success it could not report on a later cycle", async () => {
    const target = await release("1.0.0", [await base()]);
    portal.statusAnswer = 503;
    expect(await runCycle(options())).toMatchObject({ kind: "upgraded" });
    expect(logs.some((line) => line.startsWith("could not report success to the portal: the portal answered HTTP 503"))).toBe(true);

    portal.statusAnswer = 204;
    await runCycle(options());
    expect(portal.reports).toEqual([expect.objectContaining({ result: "success", currentDigest: target.digest, releaseId: target.releaseId })]);
    await runCycle(options());
    expect(portal.reports).toHaveLength(1);
  });

  it("refuses zstd layers with a reason, and does nothing while the target is null", async () => {
    portal.publish(null);
    expect(await runCycle(options())).toEqual({ kind: "no-target" });
    expect(fs.existsSync(path.join(root, "active"))).toBe(false);

    const digest = registry.addImage([Buffer.from("not really zstd")], { layerMediaType: "application/vnd.oci.image.layer.v1.tar+zstd" });
    portal.publish({ image: `${registry.host}/acme/web@${digest}`, digest, version: "3.0.0", releaseId: null });
    await expect(runCycle(options())).rejects.toThrow(/zstd-compressed/);
    expect(portal.reports.at(-1)).toMatchObject({ result: "failure", currentDigest: null });
  });

  it("asks for the document anew once the accepted one expired, and refuses it if it is still the expired one", async () => {
    await release("1.0.0", [await base()]);
    await runCycle(options());
    const later = new Date(Date.now() + 2 * 24 * 3600 * 1000);

    await expect(runCycle(options({ now: () => later }))).rejects.toThrow(/refused the channel document: it expired at /);
    expect(portal.channelRequests.at(-1)).toEqual({ ifNoneMatch: null, status: 200 });
    expect(portal.reports.at(-1)).toMatchObject({ result: "failure", message: expect.stringMatching(/expired/) });
  });

  it("keeps a key given with --key at registration over the one the portal sends", async () => {
    const other = crypto.generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "pem" }).toString();
    const keyFile = path.join(root, "given-key.pem");
    fs.writeFileSync(keyFile, other);
    await release("1.0.0", [await base()]);

    await expect(runCycle(options({ key: keyFile }))).rejects.toThrow(/signature does not verify with the pinned key/);
    expect(logs.some((line) => line.startsWith(`warning: the portal's channel key differs from ${keyFile}`))).toBe(true);
    expect(fs.readFileSync(path.join(root, "channel-key.pem"), "utf8")).toBe(other);
  });

  it("needs --server, --token and --name before the device is registered", async () => {
    await expect(runCycle(options({ token: undefined }))).rejects.toThrow(/not registered yet .* pass --server, --token \(or --token-file\) and --name/);
  });

  it("registers with a token read from --token-file", async () => {
    const tokenFile = path.join(root, "registration-token");
    fs.writeFileSync(tokenFile, `${portal.token}\n`);
    await release("1.0.0", [await base()]);
    expect(await runCycle(options({ token: undefined, tokenFile }))).toMatchObject({ kind: "upgraded", slot: "a" });

    fs.writeFileSync(tokenFile, "\n");
    fs.rmSync(path.join(root, "agent.json"));
    await expect(runCycle(options({ token: undefined, tokenFile }))).rejects.toThrow(`${tokenFile} is empty`);
  });

  it("pulls through a registry mirror: the reference names a host the device cannot reach", async () => {
    const digest = registry.addImage([await base()]);
    const image = `registry.invalid:5000/acme/web@${digest}`;
    portal.publish({ image, digest, version: "1.0.0", releaseId: null });

    const registryMirrors = new Map([["registry.invalid:5000", `http://${registry.host}`]]);
    expect(await runCycle(options({ registryMirrors }))).toEqual({ kind: "upgraded", digest, slot: "a" });
    expect(fs.readFileSync(slotFile("a", "etc/os-release"), "utf8")).toBe("VERSION=1\n");
    expect(registry.requests).toContain(`GET /v2/acme/web/manifests/${digest}`);
  });
});

describe("nextDelay", () => {
  it("jitters the interval by ±20% and doubles it per failure in a row, up to 15 minutes", () => {
    expect(nextDelay(60_000, 0, () => 0)).toBe(48_000);
    expect(nextDelay(60_000, 0, () => 1)).toBe(72_000);
    expect(nextDelay(60_000, 2, () => 0.5)).toBe(240_000);
    expect(nextDelay(60_000, 10, () => 1)).toBe(15 * 60_000);
  });
});
