// What a worker passes runBuild, as the integration tests build with it: small limits, a quick heartbeat, artefacts
// and the work folder under the test data directory.
import path from "node:path";
import type Dockerode from "dockerode";
import type { Db } from "../db";
import { getPool } from "../db";
import { createArtefactStore } from "../builder/artefact-store";
import type { BuildDeps } from "../builder/run-build";
import { RegistryClient } from "../registry/client";
import { ensureBaseImage } from "../builder/base-image";
import { publishBaseManifest } from "../base-manifests/base-manifests";
import { makeActor } from "./fixtures";
import { ensureDockerEngine } from "../../scripts/dev-stack/docker";
import { ensureRegistry, type RegistryService } from "../../scripts/dev-stack/registry";

export function testBuildDeps(opts: { db: Db; docker: Dockerode; registryUrl: string; dataDir: string }, overrides: Partial<BuildDeps> = {}): BuildDeps {
  return {
    db: opts.db,
    pool: getPool(),
    docker: opts.docker,
    registry: new RegistryClient(opts.registryUrl),
    artefactStore: createArtefactStore(path.join(opts.dataDir, "artefacts")),
    limits: { memoryBytes: 512 * 1024 * 1024, nanoCpus: 1e9, pidsLimit: 256, stepTimeoutMs: 120_000 },
    workDir: opts.dataDir,
    heartbeatMs: 200,
    ...overrides,
  };
}

export interface BuildTestStack {
  docker: Dockerode;
  registry: RegistryService;
  /** Stops the engine and registry if this stack started them (a running `npm test` or `npm run up` keeps its own). */
  stop: () => Promise<void>;
}

/**
 * What a build test needs: the Docker engine, the test run's registry (port 5055, or REGISTRY_URL's) and the
 * imported Debian base image; each started only when none answers. Sets REGISTRY_URL for code that reads config.
 */
export async function startBuildTestStack(dataDir: string): Promise<BuildTestStack> {
  const engine = await ensureDockerEngine({ dataDir });
  const registry = process.env.REGISTRY_URL ? await ensureRegistry({ dataDir }) : await ensureRegistry({ dataDir, port: 5055 });
  process.env.REGISTRY_URL = registry.url;
  await ensureBaseImage(engine.docker, "strata/debian:bookworm", { workDir: dataDir });
  return {
    docker: engine.docker,
    registry,
    stop: async () => {
      await registry.stop();
      await engine.stop();
    },
  };
}

/**
 * Publishes a base manifest of one small package (system/hello writing `line` to `file`) over the test base image, so
 * a real build takes seconds; a new admin publishes it. `name`@`version` must be new to the database.
 */
export async function publishTinyBase(db: Db, opts: { name: string; version: string; line: string; file?: string; extra?: string }): Promise<string> {
  const yaml = `
name: ${opts.name}
version: "${opts.version}"
base_image: strata/debian:bookworm
packages:
  - category: system
    name: hello
    version: "1"
    steps:
      - echo "${opts.line}" > ${opts.file ?? "/etc/strata-hello"}
${opts.extra ?? ""}`;
  const admin = await makeActor(db, { role: "admin" });
  return (await publishBaseManifest(db, admin, { yaml })).id;
}
