// What one tenant's package can do to the artefact step, against the real PostgreSQL, dockerd and registry: a layer of
// too many files fails the build with the limit's message and stores nothing; an excludes pattern that backtracks
// catastrophically in JavaScript matches a crafted path at once; a pattern RE2 cannot match is refused at save time.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fs from "node:fs";
import path from "node:path";
import { inject } from "vitest";
import { and, count, eq } from "drizzle-orm";
import type Dockerode from "dockerode";
import { closeTestDb, makeActor, testDb } from "../testing/fixtures";
import { startBuildTestStack, testBuildDeps, type BuildTestStack } from "../testing/build-deps";
import { artefactFiles, baseManifests, buildPackages, flavourRevisions, flavours } from "../db/schema";
import { publishBaseManifest } from "../base-manifests/base-manifests";
import { createFlavour, saveRevision } from "../flavours/flavours";
import { exportRevisionYaml, importFlavour } from "../flavours/transfer";
import { getBuild, startBuild } from "../builds/builds";
import { ValidationError } from "../errors";
import type { RegistryService } from "../../scripts/dev-stack/registry";
import { runBuild, type BuildDeps } from "./run-build";
import type { Actor } from "../auth/actor";
import type { PackageDefinitionInput } from "../manifest/schema";

process.env.DATABASE_URL = inject("databaseUrl");
const db = testDb();
const dataDir = path.resolve(".data/test");
let stack: BuildTestStack;
let registry: RegistryService;
let docker: Dockerode;
let customer: Actor;
let admin: Actor;
let baseId: string;

const deps = (): BuildDeps => testBuildDeps({ db, docker, registryUrl: registry.url, dataDir });
const stamp = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const baseYaml = (excludes = "") => `
name: limits-base
version: "${stamp}${excludes ? "-bad" : ""}"
base_image: strata/debian:bookworm
packages:
  - category: system
    name: hello
    version: "1"
    steps:
      - echo "hello ${stamp}" > /etc/strata-hello
${excludes}`;

async function fork(layers: PackageDefinitionInput[]) {
  const flavour = await createFlavour(db, customer, { baseManifestId: baseId, name: `limits-${stamp}-${Math.random().toString(36).slice(2, 6)}` });
  if (layers.length) await saveRevision(db, customer, flavour.id, { layers });
  return flavour;
}

async function build(flavourId: string) {
  const started = await startBuild(db, customer, flavourId, {});
  await runBuild(deps(), started.id);
  const done = await getBuild(db, customer, started.id);
  const rows = await db.select().from(buildPackages).where(eq(buildPackages.buildId, started.id));
  return { ...done, rows: new Map(rows.map((r) => [r.packageId, r])) };
}

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error("expected a refusal");
    },
    (e: unknown) => e as ValidationError,
  );
const rowCounts = async () => [
  (await db.select({ n: count() }).from(flavours))[0].n,
  (await db.select({ n: count() }).from(flavourRevisions))[0].n,
  (await db.select({ n: count() }).from(baseManifests))[0].n,
];

beforeAll(async () => {
  stack = await startBuildTestStack(dataDir);
  ({ docker, registry } = stack);
  customer = await makeActor(db);
  admin = await makeActor(db, { role: "admin" });
  baseId = (await publishBaseManifest(db, admin, { yaml: baseYaml() })).id;
}, 600_000);

afterAll(async () => {
  await closeTestDb();
  await stack?.stop();
});

describe("entries per artefact", () => {
  it("fails a build whose layer has more files than STRATA_ARTEFACT_MAX_ENTRIES, with the limit's message, storing no artefact", async () => {
    const flavour = await fork([
      { category: "layer", name: "many", version: "1", steps: [`mkdir -p /opt/many && cd /opt/many && seq 1 3000 | xargs touch && echo ${stamp} > /opt/many/stamp`] },
    ]);
    const previous = process.env.STRATA_ARTEFACT_MAX_ENTRIES;
    process.env.STRATA_ARTEFACT_MAX_ENTRIES = "1000";
    let done: Awaited<ReturnType<typeof build>>;
    try {
      done = await build(flavour.id);
    } finally {
      if (previous === undefined) delete process.env.STRATA_ARTEFACT_MAX_ENTRIES;
      else process.env.STRATA_ARTEFACT_MAX_ENTRIES = previous;
    }
    // The build page shows the build's error as its failure reason.
    expect(done.status).toBe("failed");
    expect(done.error).toMatch(/^layer\/many's layer has more than 1000 files \(the limit, STRATA_ARTEFACT_MAX_ENTRIES\); .*excludes pattern/);
    const many = done.rows.get("layer/many")!;
    expect(many.status).toBe("failed");
    expect(many.artefactDigest).toBeNull();
    // No artefact index for the key (a later build extracts again), and no half-written blob of this process.
    expect(deps().artefactStore.loadIndex(many.cacheKey!)).toBeNull();
    const tmp = path.join(dataDir, "artefacts", "tmp");
    expect(fs.existsSync(tmp) ? fs.readdirSync(tmp).filter((name) => name.startsWith(`${process.pid}-`)) : []).toEqual([]);
    // The base package below it, within the limit, got its artefact.
    expect(done.rows.get("system/hello")!.artefactDigest).toMatch(/^sha256:/);
  });
});

describe("includes and excludes patterns", () => {
  it("matches (a+)+$ against a crafted path of long runs of a's at once, and the build succeeds", async () => {
    // In JavaScript's RegExp, each 250-character run of a's followed by "/" takes 2^250 steps to give up on.
    const run = (n: number) => `$(printf 'a%.0s' $(seq ${n}))`;
    const flavour = await fork([
      {
        category: "layer",
        name: "crafted",
        version: "1",
        excludes: ["(a+)+$"],
        steps: [`d=${run(250)} && mkdir -p /opt/crafted/$d/$d/$d/$d && cd /opt/crafted/$d/$d/$d/$d && touch "${run(200)}!" "${run(200)}" && echo ${stamp} > /opt/crafted/stamp`],
      },
    ]);
    const done = await build(flavour.id);
    expect(done.error).toBeNull();
    expect(done.status).toBe("succeeded");
    const digest = done.rows.get("layer/crafted")!.artefactDigest!;
    const paths = (await db.select({ path: artefactFiles.path }).from(artefactFiles).where(eq(artefactFiles.artefactDigest, digest))).map((f) => f.path);
    const deep = `/opt/crafted/${Array(4).fill("a".repeat(250)).join("/")}`;
    expect(paths).toContain(`${deep}/${"a".repeat(200)}!`);
    expect(paths).toContain("/opt/crafted/stamp");
    // Ends in a's: excluded.
    expect(paths).not.toContain(`${deep}/${"a".repeat(200)}`);
  });

  it("refuses a revision with a backreference pattern (422, the package, the pattern and why) and writes nothing", async () => {
    const flavour = await fork([]);
    const before = await rowCounts();
    const err = await refusal(saveRevision(db, customer, flavour.id, { layers: [{ category: "layer", name: "x", version: "1", steps: ["true"], excludes: ["^/tmp/", "(a)\\1"] }] }));
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.status).toBe(422);
    expect(err.message).toMatch(/layers\[0\]\.excludes\[1\]: layer\/x: excludes pattern "\(a\)\\1" is not supported: backreferences .* cannot be matched in linear time/);
    expect(await rowCounts()).toEqual(before);
    const revisions = await db.select({ n: count() }).from(flavourRevisions).where(and(eq(flavourRevisions.flavourId, flavour.id)));
    expect(revisions[0].n).toBe(1);
  });

  it("refuses the same pattern in a YAML import and in a base manifest, writing nothing", async () => {
    const flavour = await fork([{ category: "layer", name: "fine", version: "1", steps: ["true"], excludes: ["^/tmp/"] }]);
    const { yaml } = await exportRevisionYaml(db, customer, flavour.id, 2);
    expect(yaml).toContain("^/tmp/");
    const before = await rowCounts();
    const imported = await refusal(importFlavour(db, customer, { yaml: yaml.replace("^/tmp/", "(?<=/usr)/lib"), name: `${flavour.name}-bad` }));
    expect(imported.status).toBe(422);
    expect(imported.message).toMatch(/layer\/fine: excludes pattern "\(\?<=\/usr\)\/lib" is not supported: lookbehind/);
    const published = await refusal(publishBaseManifest(db, admin, { yaml: baseYaml(`    excludes: ["(a)\\\\1"]\n`) }));
    expect(published.status).toBe(422);
    expect(published.message).toMatch(/system\/hello: excludes pattern "\(a\)\\1" is not supported: backreferences/);
    expect(await rowCounts()).toEqual(before);
  });
});
