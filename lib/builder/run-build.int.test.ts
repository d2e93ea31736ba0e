// Builds end to end against the real PostgreSQL, dockerd and registry: the database side of the pipeline
// (rows, job, progress, logs, cancel, failure, cache reuse, sweep, reaper). Small flavours over a tiny base manifest.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import path from "node:path";
import { inject } from "vitest";
import { eq } from "drizzle-orm";
import type Dockerode from "dockerode";
import { closeTestDb, makeActor, testDb } from "../testing/fixtures";
import { testBuildDeps } from "../testing/build-deps";
import { buildLogs, builds } from "../db/schema";
import { publishBaseManifest } from "../base-manifests/base-manifests";
import { createFlavour, saveRevision } from "../flavours/flavours";
import { cancelBuild, getBuild, retryBuild, startBuild } from "../builds/builds";
import { ensureDockerEngine, type DockerEngine } from "../../scripts/dev-stack/docker";
import { ensureRegistry, type RegistryService } from "../../scripts/dev-stack/registry";
import { parseRegistry } from "../registry/endpoint";
import { RegistryClient } from "../registry/client";
import { ensureBaseImage } from "./base-image";
import { reapStaleBuilds, runBuild, sweepOrphans, type BuildDeps } from "./run-build";
import { LABEL } from "./engine/images";
import type { Actor } from "../auth/actor";
import { NotFoundError } from "../errors";
import type { PackageDefinitionInput } from "../manifest/schema";
import tar from "tar-stream";
import { Readable } from "node:stream";
import zlib from "node:zlib";

process.env.DATABASE_URL = inject("databaseUrl");
const db = testDb();
const dataDir = path.resolve(".data/test");
let engine: DockerEngine;
let registry: RegistryService;
let docker: Dockerode;
let customer: Actor;
let baseId: string;

const deps = (): BuildDeps => testBuildDeps({ db, docker, registryUrl: registry.url, dataDir });

const stamp = Date.now().toString(36);
const tinyBase = (version: string) => `
name: tiny-base
version: "${version}"
base_image: strata/debian:bookworm
packages:
  - category: system
    name: hello
    version: "1"
    steps:
      - echo "hello from the base ${stamp}" > /etc/strata-hello
`;

const layer = (name: string, extra: Partial<PackageDefinitionInput> = {}): PackageDefinitionInput => ({
  category: "layer",
  name,
  version: "1",
  files: [{ path: `/etc/${name}.conf`, mode: "0640", content: `${name}\n` }],
  steps: [`echo built ${name} ${stamp} > /opt/${name}`],
  ...extra,
});

async function fork(layers: PackageDefinitionInput[]) {
  const flavour = await createFlavour(db, customer, { baseManifestId: baseId, name: `build-${stamp}-${Math.random().toString(36).slice(2, 6)}` });
  if (layers.length) await saveRevision(db, customer, flavour.id, { layers });
  return flavour;
}

async function runAndGet(flavourId: string, extra: Partial<BuildDeps> = {}) {
  const build = await startBuild(db, customer, flavourId, {});
  await runBuild({ ...deps(), ...extra }, build.id);
  return getBuild(db, customer, build.id);
}
const buildNow = (flavourId: string) => runAndGet(flavourId);

async function registryManifest(reference: string) {
  const api = parseRegistry(registry.url).apiBase;
  const [repo, tag] = reference.slice(registry.url.length + 1).split(":");
  const res = await fetch(`${api}/v2/${repo}/manifests/${tag}`, { headers: { accept: "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json" } });
  return { status: res.status, digest: res.headers.get("docker-content-digest"), body: await res.json() };
}

/** One path of an image as a container of it sees it (never started, so the engine mounts nothing over /etc). */
async function entryFromImage(image: string, file: string): Promise<{ type: string; linkname?: string | null; content: string }> {
  const container = await docker.createContainer({ Image: image, Cmd: ["/bin/true"], Labels: { [LABEL.managed]: "1", [LABEL.build]: "test-read" } });
  try {
    const archive = (await container.getArchive({ path: file })) as unknown as NodeJS.ReadableStream;
    const extract = tar.extract();
    archive.pipe(extract as unknown as NodeJS.WritableStream);
    for await (const entry of extract) {
      let content = "";
      for await (const c of entry) content += (c as Buffer).toString();
      return { type: entry.header.type ?? "file", linkname: entry.header.linkname, content };
    }
    throw new Error(`${file} is not in ${image}`);
  } finally {
    await container.remove({ force: true });
  }
}
const readFileFromImage = async (image: string, file: string) => (await entryFromImage(image, file)).content;

/**
 * The entries of an image's top layer, read from the registry. The files the engine manages in containers
 * (/etc/hosts, /etc/hostname, /etc/resolv.conf) are masked by its own placeholders in any container, even a
 * never-started one, so what the image holds there is read from the layer: the top layer's entries win.
 */
async function topLayerEntries(reference: string) {
  const api = parseRegistry(registry.url).apiBase;
  const [repo] = reference.slice(registry.url.length + 1).split(":");
  const { body } = await registryManifest(reference);
  const blob = Buffer.from(await (await fetch(`${api}/v2/${repo}/blobs/${body.layers.at(-1).digest}`)).arrayBuffer());
  const entries = new Map<string, { type: string; linkname?: string | null; content: string }>();
  const extract = tar.extract();
  Readable.from(zlib.gunzipSync(blob)).pipe(extract as unknown as NodeJS.WritableStream);
  for await (const entry of extract) {
    let content = "";
    for await (const c of entry) content += (c as Buffer).toString();
    entries.set(`/${entry.header.name.replace(/\/$/, "")}`, { type: entry.header.type ?? "file", linkname: entry.header.linkname, content });
  }
  return entries;
}

/** Images this file pulled (by digest); removed at the end. */
const pulled: string[] = [];
async function pull(reference: string) {
  pulled.push(reference);
  await new Promise<void>((resolve, reject) =>
    docker.pull(reference, (err: Error | null, stream: NodeJS.ReadableStream) => (err ? reject(err) : docker.modem.followProgress(stream, (e) => (e ? reject(e) : resolve())))),
  );
}
const byDigest = (build: { imageRef: string | null; imageDigest: string | null }) => `${build.imageRef!.slice(0, build.imageRef!.lastIndexOf(":"))}@${build.imageDigest}`;
const statuses = (build: { packages: { packageId: string; status: string }[] }) => build.packages.map((p) => [p.packageId, p.status]);

beforeAll(async () => {
  engine = await ensureDockerEngine({ dataDir });
  docker = engine.docker;
  registry = process.env.REGISTRY_URL ? await ensureRegistry({ dataDir }) : await ensureRegistry({ dataDir, port: 5055 });
  process.env.REGISTRY_URL = registry.url;
  // On a fresh machine the base image is made here (debootstrap, about a minute), not inside a timed test.
  await ensureBaseImage(docker, "strata/debian:bookworm", { workDir: dataDir });
  customer = await makeActor(db);
  const admin = await makeActor(db, { role: "admin" });
  baseId = (await publishBaseManifest(db, admin, { yaml: tinyBase(stamp) })).id;
}, 600_000);

afterAll(async () => {
  for (const ref of pulled) await docker?.getImage(ref).remove({ force: true }).catch(() => {});
  await closeTestDb();
  await registry?.stop();
  await engine?.stop();
});

describe("a build", () => {
  let firstFlavourId: string;

  it("builds base + one layer, publishes a pullable image with only meaningful labels and a neutral identity", async () => {
    const flavour = await fork([layer("motd")]);
    firstFlavourId = flavour.id;
    const build = await buildNow(flavour.id);
    expect(build.error).toBeNull();
    expect(build.status).toBe("succeeded");
    expect(build.phase).toBeNull();
    expect(build.version).toBe("r2.1");
    expect(build.imageRef).toBe(`${registry.url}/${customer.org.slug}/${flavour.name}:r2.1`);
    expect(build.imageDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(build.imageSize).toBeGreaterThan(1_000_000);
    expect(build.packages.map((p) => p.status)).toEqual(["built", "built"]);
    expect(build.packages.every((p) => p.artefact && p.artefact.digest.startsWith("sha256:"))).toBe(true);
    const motd = build.packages[1].artefact!;
    expect(motd.fileCount).toBeGreaterThanOrEqual(2);

    // The registry has it under the digest we recorded.
    const manifest = await registryManifest(build.imageRef!);
    expect(manifest.status).toBe(200);
    expect(manifest.digest).toBe(build.imageDigest);

    // Pull it back by digest as a stock client would, and look inside.
    await pull(byDigest(build));
    const image = await docker.getImage(byDigest(build)).inspect();
    const labels = image.Config.Labels ?? {};
    expect(labels).toMatchObject({ "io.strata.flavour": flavour.name, "io.strata.version": "r2.1", "io.strata.build": build.id, "io.strata.base-manifest": `tiny-base ${stamp}`, "org.opencontainers.image.version": "r2.1" });
    // Nothing of the builder's bookkeeping: every label is an OCI or Strata one, and none is empty.
    for (const [name, value] of Object.entries(labels)) {
      expect(name).toMatch(/^(org\.opencontainers\.image|io\.strata)\./);
      expect(value, name).not.toBe("");
    }
    expect(image.Config.Hostname).toBe("");
    expect(labels["io.strata.repository"]).toBe(`${registry.url}/${customer.org.slug}/${flavour.name}`);

    // The final layer: the version stamp and the files that give a machine its identity, not the build host's.
    const osRelease = await readFileFromImage(byDigest(build), "/usr/lib/os-release");
    expect(osRelease).toContain(`VARIANT_ID=${flavour.name}`);
    expect(osRelease).toContain('VERSION="r2.1 (base tiny-base');
    expect(await entryFromImage(byDigest(build), "/etc/os-release")).toMatchObject({ type: "symlink", linkname: "../usr/lib/os-release" });
    expect(await readFileFromImage(byDigest(build), "/etc/machine-id")).toBe("");
    const top = await topLayerEntries(build.imageRef!);
    expect(top.get("/etc/resolv.conf")).toMatchObject({ type: "symlink", linkname: "../run/systemd/resolve/stub-resolv.conf" });
    expect(top.get("/etc/hosts")?.content).toMatch(/^127\.0\.0\.1\s+localhost$/m);
    expect(top.get("/etc/hostname")).toMatchObject({ type: "file", content: "" });
    expect(await readFileFromImage(byDigest(build), "/opt/motd")).toContain(`built motd ${stamp}`);

    const logs = await db.select().from(buildLogs).where(eq(buildLogs.buildId, build.id));
    expect(logs.map((l) => l.line).join("\n")).toContain("published");
  });

  it("builds 0 packages for the same revision again and exactly 1 for an added layer; the stamp still moves", async () => {
    // The structure of the real base manifest: base packages, then the customer's layers, then the version stamp.
    await saveRevision(db, customer, firstFlavourId, { layers: [layer("motd"), layer("extra")] });
    const first = await buildNow(firstFlavourId);
    expect(first.status).toBe("succeeded");
    expect(statuses(first)).toEqual([
      ["system/hello", "cached"],
      ["layer/motd", "cached"],
      ["layer/extra", "built"],
    ]);

    // The same revision built again: nothing is built, and the image still carries its own version.
    const again = await runAndGet(firstFlavourId, { publicRegistry: "registry.example.test:8443" });
    expect(again.version).toBe("r3.2");
    expect(again.packages.filter((p) => p.status === "built")).toEqual([]);
    expect(again.packages.every((p) => p.expectedMs === 0)).toBe(true);
    // The reference shown is the public one; the image went to the registry workers reach.
    expect(again.imageRef).toMatch(new RegExp(`^registry\\.example\\.test:8443/${customer.org.slug}/build-${stamp}-[a-z0-9]+:r3\\.2$`));
    const internal = { imageRef: `${registry.url}/${again.imageRef!.split("/").slice(1).join("/")}`, imageDigest: again.imageDigest };
    await pull(byDigest(internal));
    expect(await readFileFromImage(byDigest(internal), "/usr/lib/os-release")).toContain('VERSION="r3.2 ');
    expect((await docker.getImage(byDigest(internal)).inspect()).Config.Labels?.["io.strata.repository"]).toMatch(/^registry\.example\.test:8443\//);
    // Both images share every package layer; only the final layer differs.
    const [a, b] = await Promise.all([registryManifest(first.imageRef!), registryManifest(internal.imageRef)]);
    expect(a.body.layers.slice(0, -1)).toEqual(b.body.layers.slice(0, -1));
    expect(a.body.layers.at(-1).digest).not.toBe(b.body.layers.at(-1).digest);

    await saveRevision(db, customer, firstFlavourId, { layers: [layer("motd"), layer("extra"), layer("third")] });
    const added = await buildNow(firstFlavourId);
    expect(added.packages.filter((p) => p.status === "built").map((p) => p.packageId)).toEqual(["layer/third"]);
    expect(added.packages.map((p) => p.expectedMs)).toEqual([0, 0, 0, null]);
  });
  it("fails at the package whose step exits non-zero, with the step's output, and can be retried", async () => {
    const flavour = await fork([layer("broken", { steps: ["echo about to fail >&2", "exit 3"] })]);
    const build = await buildNow(flavour.id);
    expect(build.status).toBe("failed");
    expect(build.error).toMatch(/layer\/broken: step 2 failed with exit code 3/);
    expect(build.error).toContain("about to fail");
    expect(build.packages.map((p) => p.status)).toEqual(["cached", "failed"]);
    expect(build.imageRef).toBeNull();
    const containers = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${LABEL.build}=${build.id}`] }) });
    expect(containers).toEqual([]);

    const retry = await retryBuild(db, customer, build.id);
    expect(retry.retryOf).toBe(build.id);
    expect(retry.status).toBe("queued");
    await expect(retryBuild(db, customer, retry.id)).rejects.toThrow(/Only failed or cancelled/);
  });

  it("is cancelled mid-step: the container is stopped and removed, the build marked cancelled", async () => {
    const flavour = await fork([layer("slow", { steps: ["echo sleeping", "sleep 120"] })]);
    const started = await startBuild(db, customer, flavour.id, {});
    const running = runBuild(deps(), started.id);
    // Wait until the slow step runs, then press Cancel.
    for (let i = 0; i < 200; i++) {
      const b = await getBuild(db, customer, started.id);
      if (b.packages[1].status === "running" && b.packages[1].step === 2) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const t0 = Date.now();
    await cancelBuild(db, customer, started.id);
    await running;
    expect(Date.now() - t0).toBeLessThan(20_000);
    const build = await getBuild(db, customer, started.id);
    expect(build.status).toBe("cancelled");
    expect(build.packages[1].status).toBe("cancelled");
    const containers = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${LABEL.build}=${started.id}`] }) });
    expect(containers).toEqual([]);
    await expect(cancelBuild(db, customer, started.id)).rejects.toThrow(/already/);
  });

  it("is cancelled at once while queued", async () => {
    const flavour = await fork([]);
    const queued = await startBuild(db, customer, flavour.id, {});
    const cancelled = await cancelBuild(db, customer, queued.id);
    expect(cancelled.status).toBe("cancelled");
    await runBuild(deps(), queued.id); // a worker picking it up afterwards does nothing
    expect((await getBuild(db, customer, queued.id)).status).toBe("cancelled");
  });

  it("cannot be started on another organisation's flavour", async () => {
    const flavour = await fork([]);
    const stranger = await makeActor(db);
    await expect(startBuild(db, stranger, flavour.id, {})).rejects.toBeInstanceOf(NotFoundError);
    await expect(getBuild(db, stranger, (await startBuild(db, customer, flavour.id, {})).id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it("fails within 30 s naming the registry when it does not answer", async () => {
    const flavour = await fork([]);
    const build = await startBuild(db, customer, flavour.id, {});
    const t0 = Date.now();
    await runBuild({ ...deps(), registry: new RegistryClient("127.0.0.1:5999") }, build.id);
    expect(Date.now() - t0).toBeLessThan(30_000);
    const failed = await getBuild(db, customer, build.id);
    expect(failed.status).toBe("failed");
    expect(failed.error).toMatch(/127\.0\.0\.1:5999/);
  });
});

describe("leftovers", () => {
  it("sweeps containers of builds that are no longer running", async () => {
    const flavour = await fork([]);
    const build = await startBuild(db, customer, flavour.id, {});
    await cancelBuild(db, customer, build.id);
    const orphan = await docker.createContainer({ Image: "strata/debian:bookworm", Cmd: ["sleep", "60"], Labels: { [LABEL.managed]: "1", [LABEL.build]: build.id } });
    await orphan.start();
    expect(await sweepOrphans(db, docker)).toBeGreaterThanOrEqual(1);
    await expect(orphan.inspect()).rejects.toThrow();
  });

  it("marks a running build whose worker stopped beating as failed", async () => {
    const flavour = await fork([]);
    const build = await startBuild(db, customer, flavour.id, {});
    await db.update(builds).set({ status: "running", heartbeatAt: new Date(Date.now() - 120_000) }).where(eq(builds.id, build.id));
    expect(await reapStaleBuilds(db)).toContain(build.id);
    const reaped = await getBuild(db, customer, build.id);
    expect(reaped.status).toBe("failed");
    expect(reaped.error).toMatch(/worker running this build stopped/);
  });
});
