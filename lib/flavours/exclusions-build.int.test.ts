// A flavour that leaves a base package out, built by the real builder (PostgreSQL, dockerd, registry): the image
// lacks the package, the base packages before it come from the cache, and the build's package rows skip it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import path from "node:path";
import { PassThrough } from "node:stream";
import { inject } from "vitest";
import type Dockerode from "dockerode";
import { closeTestDb, makeActor, testDb } from "../testing/fixtures";
import { startBuildTestStack, testBuildDeps, type BuildTestStack } from "../testing/build-deps";
import { publishBaseManifest } from "../base-manifests/base-manifests";
import { createFlavour, saveRevision } from "./flavours";
import { getBuild, startBuild } from "../builds/builds";
import type { RegistryService } from "../../scripts/dev-stack/registry";
import { runBuild } from "../builder/run-build";
import { LABEL } from "../builder/engine/images";
import type { Actor } from "../auth/actor";

process.env.DATABASE_URL = inject("databaseUrl");
const db = testDb();
const dataDir = path.resolve(".data/test");
let stack: BuildTestStack;
let registry: RegistryService;
let docker: Dockerode;
let customer: Actor;
let flavourId: string;

const stamp = Date.now().toString(36);
// The shape of the real base, small: a foundation, networking, ssh on top of it, one more package after ssh.
const base = `
name: tiny-ssh-base
version: "${stamp}"
base_image: strata/debian:bookworm
packages:
  - category: system
    name: base
    version: "1"
    steps:
      - echo "base ${stamp}" > /etc/strata-base
  - category: system
    name: networking
    version: "1"
    requires: [system/base]
    steps:
      - echo "networking ${stamp}" > /etc/strata-networking
  - category: system
    name: openssh
    version: "1"
    requires: [system/base, system/networking]
    steps:
      - apt-get update
      - DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openssh-server
      - rm -rf /var/lib/apt/lists/*
  - category: system
    name: extras
    version: "1"
    requires: [system/base]
    steps:
      - echo "extras ${stamp}" > /etc/strata-extras
`;

async function buildNow() {
  const build = await startBuild(db, customer, flavourId, {});
  await runBuild(testBuildDeps({ db, docker, registryUrl: registry.url, dataDir }), build.id);
  return getBuild(db, customer, build.id);
}

const pulled: string[] = [];
const byDigest = (build: { imageRef: string | null; imageDigest: string | null }) => `${build.imageRef!.slice(0, build.imageRef!.lastIndexOf(":"))}@${build.imageDigest}`;

/** Exit status of `test -e <file>` in a container of the image, pulled from the registry as a device would. */
async function fileExists(image: string, file: string): Promise<boolean> {
  if (!pulled.includes(image)) {
    pulled.push(image);
    await new Promise<void>((resolve, reject) =>
      docker.pull(image, (err: Error | null, stream: NodeJS.ReadableStream) => (err ? reject(err) : docker.modem.followProgress(stream, (e) => (e ? reject(e) : resolve())))),
    );
  }
  const output = new PassThrough().resume();
  const [result, container] = (await docker.run(image, ["test", "-e", file], output, { Labels: { [LABEL.managed]: "1", [LABEL.build]: "test-exclusions" } })) as [{ StatusCode: number }, Dockerode.Container];
  await container.remove({ force: true });
  return result.StatusCode === 0;
}

beforeAll(async () => {
  stack = await startBuildTestStack(dataDir);
  ({ docker, registry } = stack);
  customer = await makeActor(db);
  const admin = await makeActor(db, { role: "admin" });
  const baseId = (await publishBaseManifest(db, admin, { yaml: base })).id;
  flavourId = (await createFlavour(db, customer, { baseManifestId: baseId, name: `no-ssh-${stamp}` })).id;
}, 600_000);

afterAll(async () => {
  for (const ref of pulled) await docker?.getImage(ref).remove({ force: true }).catch(() => {});
  await closeTestDb();
  await stack?.stop();
});

describe("a flavour that leaves system/openssh out", () => {
  let full: Awaited<ReturnType<typeof getBuild>>;

  it("builds every base package while it keeps them all, sshd included", async () => {
    full = await buildNow();
    expect(full.error).toBeNull();
    expect(full.status).toBe("succeeded");
    expect(full.packages.map((p) => p.packageId)).toEqual(["system/base", "system/networking", "system/openssh", "system/extras"]);
    expect(await fileExists(byDigest(full), "/usr/sbin/sshd")).toBe(true);
  }, 600_000);

  it("builds without it: no sshd in the image, the packages before it from the cache, no build row for it", async () => {
    const revision = await saveRevision(db, customer, flavourId, { excludedPackages: ["system/openssh"], message: "no ssh" });
    expect(revision.excludedPackages).toEqual(["system/openssh"]);
    const build = await buildNow();
    expect(build.error).toBeNull();
    expect(build.status).toBe("succeeded");
    expect(build.totalPackages).toBe(3);
    // The build's package rows (build_packages) skip the left-out package; everything kept is from the base.
    expect(build.packages.map((p) => [p.packageId, p.status, p.fromBase])).toEqual([
      ["system/base", "cached", true],
      ["system/networking", "cached", true],
      // Its parent is now system/networking, not system/openssh: a new chain, so it is built.
      ["system/extras", "built", true],
    ]);
    // The cached packages are the very artefacts of the full build.
    expect(build.packages.slice(0, 2).map((p) => p.artefact?.digest)).toEqual(full.packages.slice(0, 2).map((p) => p.artefact?.digest));
    expect(await fileExists(byDigest(build), "/usr/sbin/sshd")).toBe(false);
    expect(await fileExists(byDigest(build), "/etc/strata-extras")).toBe(true);
    expect(await fileExists(byDigest(build), "/etc/strata-networking")).toBe(true);
  }, 600_000);
});
