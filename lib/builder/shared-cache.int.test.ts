// The build cache past one engine: a flavour built by a worker on engine 1 is built by a worker on engine 2 (its own
// dockerd, data root and bridge, as a second machine would have) without building anything: the base image and
// every package image come from the registry's shared cache. Real dockerd ×2, registry and PostgreSQL.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { eq } from "drizzle-orm";
import type Dockerode from "dockerode";
import { closeTestDb, makeActor, testDb } from "../testing/fixtures";
import { testBuildDeps } from "../testing/build-deps";
import { buildLogs } from "../db/schema";
import { publishBaseManifest } from "../base-manifests/base-manifests";
import { createFlavour, saveRevision } from "../flavours/flavours";
import { getBuild, startBuild } from "../builds/builds";
import { ensureDockerEngine, startExtraEngine, type DockerEngine } from "../../scripts/dev-stack/docker";
import { ensureRegistry, type RegistryService } from "../../scripts/dev-stack/registry";
import { createArtefactStore } from "./artefact-store";
import { DEFAULT_BASE_IMAGE, ensureBaseImage } from "./base-image";
import { runBuild, type BuildDeps } from "./run-build";
import type { Actor } from "../auth/actor";

process.env.DATABASE_URL = inject("databaseUrl");
const db = testDb();
const dataDir = path.resolve(".data/test");
const stamp = Date.now().toString(36);
let one: DockerEngine;
let two: (DockerEngine & { socket: string }) | undefined;
let registry: RegistryService;
let customer: Actor;
let baseId: string;

const depsFor = (docker: Dockerode, name: string, cacheRepository: string): BuildDeps =>
  testBuildDeps(
    { db, docker, registryUrl: registry.url, dataDir },
    {
      cacheRepository,
      // Each worker keeps its own artefacts and work folder, as on its own machine.
      artefactStore: createArtefactStore(path.join(dataDir, `artefacts-${name}-${stamp}`)),
      workDir: path.join(dataDir, `work-${name}`),
    },
  );

beforeAll(async () => {
  one = await ensureDockerEngine({ dataDir });
  registry = process.env.REGISTRY_URL ? await ensureRegistry({ dataDir }) : await ensureRegistry({ dataDir, port: 5055 });
  await ensureBaseImage(one.docker, DEFAULT_BASE_IMAGE, { workDir: dataDir });
  two = await startExtraEngine({ name: "strata-engine2", dataDir, subnet: "172.30.199.1/24" });
  customer = await makeActor(db);
  const admin = await makeActor(db, { role: "admin" });
  const yaml = `name: cache-base\nversion: "${stamp}"\nbase_image: ${DEFAULT_BASE_IMAGE}\npackages:\n  - category: system\n    name: hello\n    version: "1"\n    steps: ["echo shared ${stamp} > /etc/shared-hello"]\n`;
  baseId = (await publishBaseManifest(db, admin, { yaml })).id;
}, 600_000);

afterAll(async () => {
  await two?.stop();
  for (const name of ["one", "two"]) {
    fs.rmSync(path.join(dataDir, `artefacts-${name}-${stamp}`), { recursive: true, force: true });
    fs.rmSync(path.join(dataDir, `work-${name}`), { recursive: true, force: true });
  }
  await closeTestDb();
  await registry?.stop();
  await one?.stop();
}, 120_000);

describe("the shared cache", () => {
  it("lets a worker on a second engine build a flavour first built on the first engine without building anything", async () => {
    // A cache repository of this run's own, so what engine 2 finds can only have come from this test's first build.
    const cacheRepository = `strata-cache-test-${stamp}`;
    const flavour = await createFlavour(db, customer, { baseManifestId: baseId, name: `shared-${stamp}` });
    const layers = ["one", "two"].map((name) => ({ category: "layer", name, version: "1", steps: [`echo ${name} ${stamp} > /opt/${name}`] }));
    await saveRevision(db, customer, flavour.id, { layers });

    const first = await startBuild(db, customer, flavour.id, {});
    await runBuild(depsFor(one.docker, "one", cacheRepository), first.id);
    const built = await getBuild(db, customer, first.id);
    expect(built.error).toBeNull();
    // Engine 1 may have the base package from an earlier run; the layers are new to it.
    expect(built.packages.slice(1).map((p) => p.status)).toEqual(["built", "built"]);

    // Engine 2 starts empty: no base image, no cache.
    expect(await two!.docker.listImages()).toEqual([]);
    const second = await startBuild(db, customer, flavour.id, {});
    await runBuild(depsFor(two!.docker, "two", cacheRepository), second.id);
    const rebuilt = await getBuild(db, customer, second.id);
    expect(rebuilt.error).toBeNull();
    expect(rebuilt.status).toBe("succeeded");
    expect(rebuilt.packages.map((p) => p.status)).toEqual(["cached", "cached", "cached"]);
    // Same keys on both engines: the base image came over with its id.
    expect(rebuilt.packages.map((p) => p.cacheKey)).toEqual(built.packages.map((p) => p.cacheKey));
    const lines = (await db.select().from(buildLogs).where(eq(buildLogs.buildId, second.id))).map((l) => l.line);
    expect(lines.filter((l) => l.includes("pulled from the registry's shared cache"))).toHaveLength(3);
    // The artefacts were extracted on engine 2 from the pulled images and are the same bytes.
    expect(rebuilt.packages.map((p) => p.artefact?.digest)).toEqual(built.packages.map((p) => p.artefact?.digest));
  });
});
