// The build engine against the real dockerd and registry: base image, builds, cache reuse, failures, cancel, timeout, sweep, publishing.
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import zlib from "node:zlib";
import type Dockerode from "dockerode";
import tar from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PackageDefinitionSchema, type PackageDefinition, type PackageDefinitionInput } from "../manifest/schema";
import { ensureDockerEngine, type DockerEngine } from "../../scripts/dev-stack/docker";
import { ensureRegistry, type RegistryService } from "../../scripts/dev-stack/registry";
import { ArtefactStore } from "./artefact-store";
import { DEFAULT_BASE_IMAGE, ensureBaseImage } from "./base-image";
import { createBuildContainer, startContainer } from "./engine/containers";
import { cacheTag, findImageByCacheKey, LABEL, removeImage, sweepLeftovers } from "./engine/images";
import { extractArtefact } from "./extract";
import { RegistryUnavailableError } from "../registry/endpoint";
import { RegistryClient } from "../registry/client";
import { finalLayer } from "./final-layer";
import { publishImage } from "./publish";
import { SharedCachePublisher, type SharedCache } from "./shared-cache";
import {
  BuildCancelledError,
  BuildTimeoutError,
  runPackages,
  StepFailedError,
  type BuildLimits,
  type RunPackagesOptions,
} from "./run-packages";

const dataDir = path.resolve(".data/test-stack");
const run = randomBytes(4).toString("hex");
const limits: BuildLimits = { memoryBytes: 512 * 1024 * 1024, nanoCpus: 1_000_000_000, pidsLimit: 256, stepTimeoutMs: 60_000 };
const buildIds: string[] = [];

let engine: DockerEngine;
let registry: RegistryService;
let docker: Dockerode;
let baseId: string;
let store: ArtefactStore;

const pkg = (input: Omit<PackageDefinitionInput, "version"> & { version?: string }): PackageDefinition =>
  PackageDefinitionSchema.parse({ version: "1", ...input });

function newBuildId(label: string) {
  const id = `test-${label}-${run}`;
  buildIds.push(id);
  return id;
}

/** Cache images this run made; removed at the end (their keys carry the run's nonce, nobody reuses them). */
const madeKeys: string[] = [];

function build(buildId: string, packages: PackageDefinition[], extra: Partial<RunPackagesOptions> = {}) {
  const running = runPackages({
    docker,
    baseImage: DEFAULT_BASE_IMAGE,
    packages,
    buildId,
    buildEnv: { STRATA_FLAVOUR: "acme/kiosk", STRATA_VERSION: "1.0.0" },
    limits,
    artefactStore: store,
    ...extra,
  });
  return running.then((result) => {
    madeKeys.push(...result.packages.filter((p) => !p.cached).map((p) => p.cacheKey));
    return result;
  });
}

async function containersOf(buildId: string) {
  return docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${LABEL.build}=${buildId}`] }) });
}

beforeAll(async () => {
  fs.mkdirSync(dataDir, { recursive: true });
  engine = await ensureDockerEngine({ dataDir });
  registry = await ensureRegistry({ dataDir });
  docker = engine.docker;
  store = new ArtefactStore(path.join(dataDir, `artefacts-${run}`));
  baseId = await ensureBaseImage(docker, DEFAULT_BASE_IMAGE, { workDir: path.join(dataDir, "work") });
}, 300_000);

afterAll(async () => {
  if (docker) {
    for (const buildId of buildIds) await sweepLeftovers(docker, { buildId }).catch(() => {});
    for (const key of madeKeys.reverse()) await removeImage(docker, cacheTag(key)).catch(() => {});
  }
  fs.rmSync(path.join(dataDir, `artefacts-${run}`), { recursive: true, force: true });
  // Stop only what this file started; a shared engine or registry stays up.
  await registry?.stop();
  await engine?.stop();
}, 120_000);

describe("base image", () => {
  it("is made once and then reused", async () => {
    const started = Date.now();
    const [a, b] = await Promise.all([
      ensureBaseImage(docker, DEFAULT_BASE_IMAGE, { workDir: path.join(dataDir, "work") }),
      ensureBaseImage(docker, DEFAULT_BASE_IMAGE, { workDir: path.join(dataDir, "work") }),
    ]);
    expect(a).toBe(baseId);
    expect(b).toBe(baseId);
    expect(Date.now() - started).toBeLessThan(5_000);
    const info = await docker.getImage(DEFAULT_BASE_IMAGE).inspect();
    expect(info.Config.Labels?.[LABEL.role]).toBe("base");
    // No lock or half-made root filesystem is left behind (the folder exists only if this run made the image).
    const work = path.join(dataDir, "work");
    const leftovers = fs.existsSync(work) ? fs.readdirSync(work).filter((f) => f.endsWith(".lock") || f.startsWith("rootfs-")) : [];
    expect(leftovers).toEqual([]);
  });

  it("fails clearly for a reference the engine lacks and cannot pull", async () => {
    await expect(
      ensureBaseImage(docker, "127.0.0.1:5999/nobody/nothing:1", { workDir: path.join(dataDir, "work") }),
    ).rejects.toThrow(/not in the Docker engine and could not be pulled/);
  });
});

describe("build, cache and push", () => {
  // The nonce makes this run's chain of keys new, so "built" and "cached" are this run's doing.
  const overlay = pkg({
    category: "test",
    name: "overlay",
    files: [{ path: "/etc/strata/test.conf", mode: "0640", content: `run=${run}\n` }],
  });
  const hello = pkg({
    category: "test",
    name: "hello",
    steps: ["echo hi > /opt/hello", 'echo "flavour=$STRATA_FLAVOUR" > /opt/flavour', "echo built hello"],
    excludes: ["^/var/cache/"],
  });
  const third = pkg({ category: "test", name: "third", steps: ["mkdir -p /srv && echo three > /srv/three"] });
  let twoImage: string;

  it("builds two packages, publishes the image and the registry serves its files", async () => {
    const lines: string[] = [];
    const steps: number[] = [];
    const result = await build(newBuildId("two"), [overlay, hello], {
      onLog: (id, line) => lines.push(`${id}: ${line}`),
      onPackage: (e) => e.type === "step" && steps.push(e.step),
    });
    expect(result.packages.map((p) => [p.id, p.cached])).toEqual([
      ["test/overlay", false],
      ["test/hello", false],
    ]);
    expect(lines).toContain("test/hello: built hello");
    expect(steps).toEqual([1, 2, 3]);

    const [first, second] = result.packages;
    // With the sha256 of its content, for repository diffs.
    const conf = `sha256:${createHash("sha256").update(`run=${run}\n`).digest("hex")}`;
    expect(first.artefact.files).toContainEqual({ path: "/etc/strata/test.conf", type: "file", size: 13, mode: 0o640, sha256: conf });
    expect(second.artefact.files.map((f) => f.path)).toEqual(expect.arrayContaining(["/opt/hello", "/opt/flavour"]));
    // The step driver's own files leave no trace in the layer.
    expect(second.artefact.files.some((f) => f.path.includes(".strata-build"))).toBe(false);
    expect(store.has(second.artefact.digest)).toBe(true);
    twoImage = result.imageId;

    // Nothing of the build container leaks into the image config.
    const config = (await docker.getImage(result.imageId).inspect()).Config;
    expect(config.Cmd).toEqual(["/bin/bash"]);
    expect(config.Env?.some((e) => e.startsWith("DEBIAN_FRONTEND") || e.startsWith("STRATA_"))).toBe(false);

    // Publish as a worker does: the package images go to the shared cache, the image is assembled from there.
    const cache: SharedCache = { registry: new RegistryClient(registry.url), repository: `strata-cache-test-${run}` };
    const publisher = new SharedCachePublisher(docker, cache);
    for (const p of result.packages) publisher.ensure(p.id, p.cacheKey, p.imageId, { justBuilt: true });
    await publisher.flush();
    // Read back from the registry, the package's layer gives the same artefact as the engine's save stream.
    const fromRegistry = await extractArtefact(docker, {
      imageId: second.imageId,
      parentImageId: first.imageId,
      filter: { includes: hello.includes, excludes: hello.excludes },
      store,
      registry: { client: cache.registry, repository: cache.repository, tag: second.cacheKey },
    });
    expect(fromRegistry.method).toBe("registry");
    expect(fromRegistry.digest).toBe(second.artefact.digest);
    const layer = await finalLayer({ flavour: "kiosk", version: "1.0.0", baseVersion: "test", buildId: "test-two", hostname: "" }, new Date());
    const pushed = await publishImage({
      registry: cache.registry,
      source: { repository: cache.repository, tag: result.packages[1].cacheKey },
      repository: `acme-${run}/kiosk`,
      tag: "1.0.0",
      finalLayer: layer,
      created: new Date(),
      labels: { "io.strata.flavour": "acme/kiosk", "io.strata.version": "1.0.0", "io.strata.build": "test-two" },
    });
    expect(pushed.reference).toBe(`${registry.url}/acme-${run}/kiosk:1.0.0`);
    expect(pushed.digest).toMatch(/^sha256:[0-9a-f]{64}$/);

    // Read the image back through the registry API: manifest by digest, config labels, top layer files.
    const api = `${registry.apiBase}/v2/acme-${run}/kiosk`;
    const manifest = (await (
      await fetch(`${api}/manifests/${pushed.digest}`, { headers: { Accept: "application/vnd.docker.distribution.manifest.v2+json" } })
    ).json()) as { config: { digest: string }; layers: { digest: string; size: number }[] };
    // The base, the two packages, the final layer.
    expect(manifest.layers).toHaveLength(4);
    expect(manifest.layers[3].digest).toBe(layer.digest);
    expect(pushed.size).toBe(manifest.layers.reduce((s, l) => s + l.size, 0));
    const imageConfig = (await (await fetch(`${api}/blobs/${manifest.config.digest}`)).json()) as {
      config: { Labels: Record<string, string> };
      rootfs: { diff_ids: string[] };
      container_config?: unknown;
    };
    // Only the labels asked for: nothing of the cache images' bookkeeping or the build container.
    expect(imageConfig.config.Labels).toEqual({ "io.strata.flavour": "acme/kiosk", "io.strata.version": "1.0.0", "io.strata.build": "test-two" });
    expect(imageConfig.container_config).toBeUndefined();
    expect(imageConfig.rootfs.diff_ids.at(-1)).toBe(layer.diffId);

    const helloLayer = Buffer.from(await (await fetch(`${api}/blobs/${manifest.layers[2].digest}`)).arrayBuffer());
    const files = new Map<string, string>();
    const extract = tar.extract();
    Readable.from(zlib.gunzipSync(helloLayer)).pipe(extract as unknown as NodeJS.WritableStream);
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      files.set(entry.header.name, Buffer.concat(chunks).toString());
    }
    expect(files.get("opt/hello")).toBe("hi\n");
    expect(files.get("opt/flavour")).toBe("flavour=acme/kiosk\n");
  });

  it("rebuilds only the added package on top of cached ones", async () => {
    const events: string[] = [];
    const result = await build(newBuildId("three"), [overlay, hello, third], { onPackage: (e) => events.push(`${e.type}:${e.id}`) });
    expect(result.packages.map((p) => p.cached)).toEqual([true, true, false]);
    expect(events).toEqual(expect.arrayContaining(["cached:test/overlay", "cached:test/hello", "committed:test/third"]));
    expect(result.packages[1].imageId).toBe(twoImage);
    expect(result.packages[2].artefact.files.map((f) => f.path)).toEqual(["/srv", "/srv/three"]);
    expect(await findImageByCacheKey(docker, result.packages[2].cacheKey)).toBe(result.imageId);
  });

  it("commits a package without steps or files as its own image with an empty artefact", async () => {
    const empty = pkg({ category: "test", name: "empty", description: run });
    const result = await build(newBuildId("empty"), [empty]);
    const [only] = result.packages;
    expect(only.cached).toBe(false);
    expect(only.imageId).not.toBe(baseId);
    expect(only.extractMethod).toBe("empty");
    expect(only.artefact).toMatchObject({ fileCount: 0, files: [], deleted: [] });
    const [image, base] = await Promise.all([docker.getImage(only.imageId).inspect(), docker.getImage(baseId).inspect()]);
    expect(image.RootFS.Layers).toEqual(base.RootFS.Layers);
  });

  it("passes huge steps as files and odd build variables intact, leaving no trace of either", async () => {
    const padding = `: '${"x".repeat(15_000)}'`;
    const steps = Array.from({ length: 40 }, (_, i) => `${padding}\necho step-${i + 1} >> /opt/steps.log`);
    steps.push('printf "%s\\n" "$STRATA_VERSION" > /opt/version');
    const huge = pkg({ category: "test", name: "huge", description: run, steps });
    const odd = `1.0 it's "quoted" $HOME \\n`;
    const result = await build(newBuildId("huge"), [huge], { buildEnv: { STRATA_VERSION: odd } });
    const paths = result.packages[0].artefact.files.map((f) => f.path);
    expect(paths).toEqual(["/opt", "/opt/steps.log", "/opt/version"]);
    const container = await docker.createContainer({ Image: result.imageId, Cmd: ["true"] });
    try {
      const archive = (await container.getArchive({ path: "/opt/version" })) as unknown as NodeJS.ReadableStream;
      const extract = tar.extract();
      archive.pipe(extract as unknown as NodeJS.WritableStream);
      let version = "";
      for await (const entry of extract) for await (const c of entry) version += (c as Buffer).toString();
      expect(version).toBe(`${odd}\n`);
    } finally {
      await container.remove({ force: true });
    }
  });

  it("extracts the same artefact from the overlay directory and from docker save", async () => {
    const dirty = pkg({
      category: "test",
      name: "dirty",
      steps: [`mkdir -p /opt/keep /opt/drop && echo ${run} > /opt/keep/a && echo b > /opt/drop/b && rm /etc/issue && echo x > /var/cache/junk`],
      excludes: ["^/opt/drop/", "^/var/cache/"],
    });
    const result = await build(newBuildId("dirty"), [dirty]);
    const [fast, slow] = await Promise.all(
      (["upperdir", "save"] as const).map((method) =>
        extractArtefact(docker, {
          imageId: result.imageId,
          parentImageId: baseId,
          filter: { excludes: dirty.excludes },
          store,
          method,
        }),
      ),
    );
    expect(fast.method).toBe("upperdir");
    expect(slow.method).toBe("save");
    expect(slow.digest).toBe(fast.digest);
    const paths = fast.files.map((f) => f.path);
    expect(paths).toContain("/opt/keep/a");
    expect(paths).not.toContain("/opt/drop/b");
    expect(paths).not.toContain("/var/cache/junk");
    expect(fast.deleted).toContain("/etc/issue");
  });
});

describe("failures, limits and cleanup", () => {
  it("fails a step with its exit code and output, and removes the container", async () => {
    const buildId = newBuildId("fail");
    const failing = pkg({ category: "test", name: "failing", description: run, steps: ["echo before-failure", "echo oops >&2; exit 3"] });
    const error = await build(buildId, [failing]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StepFailedError);
    expect(error).toMatchObject({ exitCode: 3, step: 2, packageId: "test/failing", retryable: false });
    expect((error as StepFailedError).outputTail).toEqual(["before-failure", "oops"]);
    expect(await containersOf(buildId)).toEqual([]);
  });

  it("runs steps unprivileged, without new privileges and within the pids limit", async () => {
    const lines: string[] = [];
    const probe = pkg({
      category: "test",
      name: "probe",
      description: run,
      steps: ["grep -E '^(NoNewPrivs|CapEff)' /proc/self/status; cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max"],
    });
    await build(newBuildId("probe"), [probe], { onLog: (_id, line) => lines.push(line) });
    expect(lines).toContain("NoNewPrivs:\t1");
    expect(lines).toContain(String(limits.pidsLimit));
    const capEff = BigInt(`0x${lines.find((l) => l.startsWith("CapEff"))!.split(/\s+/)[1]}`);
    const CAP_MKNOD = 27n, CAP_NET_RAW = 13n, CAP_SYS_ADMIN = 21n;
    for (const cap of [CAP_MKNOD, CAP_NET_RAW, CAP_SYS_ADMIN]) expect(capEff & (1n << cap)).toBe(0n);
  });

  it("cancels through the AbortSignal: kills and removes the container", async () => {
    const buildId = newBuildId("cancel");
    const controller = new AbortController();
    const slow = pkg({ category: "test", name: "slow", description: run, steps: ["echo started; sleep 60"] });
    const started = Date.now();
    const error = await build(buildId, [slow], {
      signal: controller.signal,
      onLog: (_id, line) => line === "started" && controller.abort(),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BuildCancelledError);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(await containersOf(buildId)).toEqual([]);
  });

  it("stops a step that runs past the timeout", async () => {
    const buildId = newBuildId("timeout");
    const sleepy = pkg({ category: "test", name: "sleepy", description: run, steps: ["true", "sleep 30"] });
    const error = await build(buildId, [sleepy], { limits: { ...limits, stepTimeoutMs: 2_000 } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BuildTimeoutError);
    expect(error).toMatchObject({ step: 2, packageId: "test/sleepy" });
    expect(await containersOf(buildId)).toEqual([]);
  });

  it("sweeps leftover containers by label and keeps cache images", async () => {
    const buildId = newBuildId("sweep");
    const spec = { image: baseId, buildId, cacheKey: "0".repeat(64), packageId: "test/leftover", limits };
    const idle = await createBuildContainer(docker, { ...spec, cmd: ["true"] });
    const running = await createBuildContainer(docker, { ...spec, cmd: ["sleep", "60"] });
    await startContainer(running);
    const other = await createBuildContainer(docker, { ...spec, buildId: `other-${run}`, cmd: ["true"] });
    buildIds.push(`other-${run}`);

    const swept = await sweepLeftovers(docker, { buildId });
    expect(swept.containers.sort()).toEqual([idle.id, running.id].sort());
    expect(await containersOf(buildId)).toEqual([]);
    // Another build's container is not this sweep's business; cache images stay.
    expect((await containersOf(`other-${run}`)).map((c) => c.Id)).toEqual([other.id]);
    const cached = await docker.listImages({ filters: JSON.stringify({ label: [`${LABEL.role}=cache`] }) });
    expect(cached.length).toBeGreaterThan(0);
  });

  it("reports an unreachable registry clearly and quickly", async () => {
    const started = Date.now();
    const nowhere = new RegistryClient("127.0.0.1:5999");
    await expect(nowhere.ping()).rejects.toThrow(RegistryUnavailableError);
    await expect(nowhere.ping()).rejects.toThrow(/127\.0\.0\.1:5999 is not reachable.*REGISTRY_URL/s);
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});
