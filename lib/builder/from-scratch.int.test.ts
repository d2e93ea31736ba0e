// Builds from scratch against the real PostgreSQL, dockerd and registry: every package built again, its results made the
// cached ones (engine tag, shared cache, artefact index), and each rebuilt artefact compared with the one it replaced.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import path from "node:path";
import { inject } from "vitest";
import { asc, eq } from "drizzle-orm";
import type Dockerode from "dockerode";
import { closeTestDb, makeActor, testDb } from "../testing/fixtures";
import { publishTinyBase, startBuildTestStack, testBuildDeps, type BuildTestStack } from "../testing/build-deps";
import { buildPackages } from "../db/schema";
import { createFlavour, saveRevision } from "../flavours/flavours";
import { cancelBuild, getBuild, retryBuild, startBuild } from "../builds/builds";
import type { RegistryService } from "../../scripts/dev-stack/registry";
import { runBuild, type BuildDeps } from "./run-build";
import { findImageByCacheKey } from "./engine/images";
import type { Actor } from "../auth/actor";
import type { PackageDefinitionInput } from "../manifest/schema";

process.env.DATABASE_URL = inject("databaseUrl");
const db = testDb();
const dataDir = path.resolve(".data/test");
let stack: BuildTestStack;
let registry: RegistryService;
let docker: Dockerode;
let customer: Actor;
let baseId: string;

const deps = (): BuildDeps => testBuildDeps({ db, docker, registryUrl: registry.url, dataDir });
const stamp = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

const fixed: PackageDefinitionInput = {
  category: "layer",
  name: "fixed",
  version: "1",
  files: [{ path: "/etc/fixed.conf", mode: "0644", content: "fixed\n" }],
  steps: [`mkdir -p /opt/fixed && echo "fixed ${stamp}" > /opt/fixed/content`],
};
const clock: PackageDefinitionInput = { category: "layer", name: "clock", version: "1", steps: [`date +%s%N > /etc/stamp`, `echo "${stamp}" > /etc/clock-marker`] };

async function fork(layers: PackageDefinitionInput[]) {
  const flavour = await createFlavour(db, customer, { baseManifestId: baseId, name: `scratch-${stamp}-${Math.random().toString(36).slice(2, 6)}` });
  if (layers.length) await saveRevision(db, customer, flavour.id, { layers });
  return flavour;
}

async function build(flavourId: string, input: Record<string, unknown> = {}) {
  const started = await startBuild(db, customer, flavourId, input);
  await runBuild(deps(), started.id);
  const done = await getBuild(db, customer, started.id);
  expect(done.error).toBeNull();
  expect(done.status).toBe("succeeded");
  const images = (await db.select({ imageId: buildPackages.imageId }).from(buildPackages).where(eq(buildPackages.buildId, started.id)).orderBy(asc(buildPackages.position))).map((p) => p.imageId!);
  return { ...done, images };
}

const statuses = (b: { packages: { packageId: string; status: string }[] }) => b.packages.map((p) => [p.packageId, p.status]);

beforeAll(async () => {
  stack = await startBuildTestStack(dataDir);
  ({ docker, registry } = stack);
  customer = await makeActor(db);
  baseId = await publishTinyBase(db, { name: "scratch-base", version: stamp, line: `hello ${stamp}` });
}, 600_000);

afterAll(async () => {
  await closeTestDb();
  await stack?.stop();
});

describe("a build from scratch", () => {
  it("builds every package again, makes its images and artefacts the cached ones, and says which artefacts changed", async () => {
    const flavour = await fork([fixed, clock]);
    const first = await build(flavour.id);
    expect(statuses(first)).toEqual([
      ["system/hello", "built"],
      ["layer/fixed", "built"],
      ["layer/clock", "built"],
    ]);
    expect(first.fromScratch).toBe(false);
    expect(first.packages.every((p) => p.previousArtefactDigest === null && p.changes === null)).toBe(true);

    // The same revision from scratch: nothing comes from the cache, though every key is in it.
    const scratch = await build(flavour.id, { cache: false });
    expect(scratch.fromScratch).toBe(true);
    expect(scratch.scheduled).toBe(false);
    expect(statuses(scratch)).toEqual([
      ["system/hello", "built"],
      ["layer/fixed", "built"],
      ["layer/clock", "built"],
    ]);
    expect(scratch.packages.map((p) => p.cached)).toEqual([false, false, false]);
    expect(scratch.packages.map((p) => p.cacheKey)).toEqual(first.packages.map((p) => p.cacheKey));
    for (const [i, image] of scratch.images.entries()) expect(image, scratch.packages[i].packageId).not.toBe(first.images[i]);

    // What the cache held before, and how the rebuilt artefacts differ from it.
    expect(scratch.packages.map((p) => p.previousArtefactDigest)).toEqual(first.packages.map((p) => p.artefact!.digest));
    const [hello, fixedPkg, clockPkg] = scratch.packages;
    for (const unchanged of [hello, fixedPkg]) expect(unchanged.changes, unchanged.packageId).toMatchObject({ added: 0, removed: 0, changed: 0, paths: [], volatile: 0 });
    expect(clockPkg.changes).toMatchObject({ identical: false, added: 0, removed: 0, changed: 1, paths: [{ path: "/etc/stamp", change: "changed" }] });

    // The rebuilt results are the cached ones now: the engine's tag, the registry's shared cache, the artefact index.
    const store = deps().artefactStore;
    for (const [i, pkg] of scratch.packages.entries()) {
      const key = pkg.cacheKey!;
      expect(await findImageByCacheKey(docker, key), pkg.packageId).toBe(scratch.images[i]);
      const shared = await deps().registry.getManifest("strata-cache", key);
      expect((shared.manifest as { config: { digest: string } }).config.digest, pkg.packageId).toBe(scratch.images[i]);
      expect(store.loadIndex<{ digest: string }>(key)?.digest, pkg.packageId).toBe(pkg.artefact!.digest);
    }

    // A normal build afterwards takes everything from the cache: the rebuilt images and artefacts.
    const after = await build(flavour.id);
    expect(after.fromScratch).toBe(false);
    expect(after.packages.map((p) => p.status)).toEqual(["cached", "cached", "cached"]);
    expect(after.images).toEqual(scratch.images);
    expect(after.packages.map((p) => p.artefact!.digest)).toEqual(scratch.packages.map((p) => p.artefact!.digest));
    expect(after.packages.every((p) => p.changes === null)).toBe(true);
  });

  it("has nothing to compare with for a package the cache never held", async () => {
    const flavour = await fork([{ ...fixed, name: `fresh${stamp}` }]);
    const scratch = await build(flavour.id, { cache: false });
    expect(statuses(scratch).map(([, status]) => status)).toEqual(["built", "built"]);
    // The base package was cached by the test above; the fresh layer's key never was.
    expect(scratch.packages[0].previousArtefactDigest).toMatch(/^sha256:/);
    expect(scratch.packages[0].changes).toMatchObject({ added: 0, removed: 0, changed: 0 });
    expect(scratch.packages[1].previousArtefactDigest).toBeNull();
    expect(scratch.packages[1].changes).toBeNull();
  });

  it("stays from scratch when retried", async () => {
    const flavour = await fork([]);
    const queued = await startBuild(db, customer, flavour.id, { cache: false });
    await cancelBuild(db, customer, queued.id);
    const retry = await retryBuild(db, customer, queued.id);
    expect(retry).toMatchObject({ retryOf: queued.id, fromScratch: true, scheduled: false, status: "queued" });
    await cancelBuild(db, customer, retry.id);
    // And a normal build's retry stays a normal one.
    const normal = await startBuild(db, customer, flavour.id, {});
    await cancelBuild(db, customer, normal.id);
    expect((await retryBuild(db, customer, normal.id)).fromScratch).toBe(false);
  });

  // Needs the Debian mirror (set STRATA_TEST_APT=1): an apt step rebuilt unchanged differs only in logs and caches.
  it.runIf(process.env.STRATA_TEST_APT === "1")("finds no change but logs and caches in an apt step rebuilt from scratch", async () => {
    const apt: PackageDefinitionInput = {
      category: "layer",
      name: "htop",
      version: "1",
      steps: ["apt-get update", "apt-get install -y --no-install-recommends htop", `echo ${stamp} > /etc/htop-marker`, "rm -rf /var/lib/apt/lists/*"],
    };
    const upgrade: PackageDefinitionInput = { category: "layer", name: "upgrade", version: "1", steps: ["apt-get update", "apt-get upgrade -y"] };
    const flavour = await fork([apt, upgrade]);
    await build(flavour.id);
    const scratch = await build(flavour.id, { cache: false });
    for (const pkg of scratch.packages.slice(1)) {
      console.log(pkg.packageId, JSON.stringify(pkg.changes));
      expect(pkg.changes, pkg.packageId).toMatchObject({ added: 0, removed: 0, changed: 0, paths: [] });
    }
  }, 600_000);
});
