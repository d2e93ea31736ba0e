// What a worker passes runBuild, as the integration tests build with it: small limits, a quick heartbeat, artefacts
// and the work folder under the test data directory.
import path from "node:path";
import type Dockerode from "dockerode";
import type { Db } from "../db";
import { getPool } from "../db";
import { createArtefactStore } from "../builder/artefact-store";
import type { BuildDeps } from "../builder/run-build";
import { RegistryClient } from "../registry/client";

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
