// Importing an image made by hand, end to end against the real PostgreSQL, dockerd and registry: a small flavour is
// built, a container of its image is changed, committed and pushed, and imported back as r1.1-import.1 with its diff.
// Every bad reference is refused with a clear 4xx, and nothing is written (builds, artefacts, registry tags).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import path from "node:path";
import { createHash } from "node:crypto";
import { inject } from "vitest";
import { count, eq } from "drizzle-orm";
import type Dockerode from "dockerode";
import { closeTestDb, makeActor, testDb } from "../testing/fixtures";
import { startBuildTestStack, testBuildDeps, type BuildTestStack } from "../testing/build-deps";
import { artefacts, buildLogs, buildPackages, builds, repositoryRevisions } from "../db/schema";
import { publishBaseManifest } from "../base-manifests/base-manifests";
import { createFlavour, saveRevision } from "../flavours/flavours";
import { cancelBuild, getBuild, startBuild } from "./builds";
import type { RegistryService } from "../../scripts/dev-stack/registry";
import { RegistryClient } from "../registry/client";
import { createArtefactStore } from "../builder/artefact-store";
import { runBuild } from "../builder/run-build";
import { followProgress } from "../builder/engine/streams";
import { DISK_ARTIFACT_TYPE } from "../disk-images/make";
import { DomainError } from "../errors";
import type { Actor } from "../auth/actor";
import { checkImport, importImage, type ImportDeps } from "./import";
import { getImportDiff } from "./import-diff";
import { parseIndex } from "../repository/index-doc";
import * as checkRoute from "@/app/api/v1/flavours/[id]/imports/check/route";
import * as importRoute from "@/app/api/v1/flavours/[id]/imports/route";
import * as diffRoute from "@/app/api/v1/builds/[id]/diff/route";
import { createToken } from "../auth/tokens";

process.env.DATABASE_URL = inject("databaseUrl");
process.env.STRATA_LOG_REQUESTS = "0";
const db = testDb();
const dataDir = path.resolve(".data/test");
process.env.STRATA_DATA_DIR = dataDir;
let stack: BuildTestStack;
let registry: RegistryService;
let client: RegistryClient;
let docker: Dockerode;
let customer: Actor;
let token: string;
let deps: ImportDeps;

const stamp = Date.now().toString(36);
let flavourId: string;
let flavourName: string;
let repo: string;
let parent: Awaited<ReturnType<typeof getBuild>>;
let handRef: string;

const sha256 = (bytes: Buffer) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

async function pushImage(image: string) {
  const [name, tag] = [image.slice(0, image.lastIndexOf(":")), image.slice(image.lastIndexOf(":") + 1)];
  const stream = (await docker.getImage(image).push({ tag, authconfig: client.engineAuth() } as Record<string, unknown>)) as NodeJS.ReadableStream;
  await followProgress(stream);
  return name;
}

/** docker run <image> sh -c <script>; docker commit as <target>; docker push <target>. `network`: for apt-get. */
async function handMade(image: string, script: string, target: string, opts: { network?: boolean } = {}) {
  const container = await docker.createContainer({ Image: image, Entrypoint: [], Cmd: ["/bin/sh", "-c", script], HostConfig: { NetworkMode: opts.network ? "bridge" : "none" } });
  try {
    await container.start();
    const result = (await container.wait()) as { StatusCode: number };
    expect(result.StatusCode).toBe(0);
    const colon = target.lastIndexOf(":");
    await container.commit({ repo: target.slice(0, colon), tag: target.slice(colon + 1) });
  } finally {
    await container.remove({ force: true });
  }
  await pushImage(target);
}

async function pull(image: string) {
  await followProgress((await docker.pull(image, { authconfig: client.engineAuth() } as Record<string, unknown>)) as NodeJS.ReadableStream);
}

async function counts() {
  const [[b], [a], [p], [r]] = await Promise.all([
    db.select({ n: count() }).from(builds),
    db.select({ n: count() }).from(artefacts),
    db.select({ n: count() }).from(buildPackages),
    db.select({ n: count() }).from(repositoryRevisions),
  ]);
  return { builds: b.n, artefacts: a.n, packages: p.n, revisions: r.n };
}

/** The domain error `fn` throws (fails the test when it does not throw one). */
async function refusal(fn: () => Promise<unknown>): Promise<DomainError> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof DomainError) return err;
    throw err;
  }
  throw new Error("expected a refusal");
}

/** Refused with `status` and a message matching `message`, and nothing written. */
async function expectRefused(fn: () => Promise<unknown>, status: number, message: RegExp) {
  const before = await counts();
  const err = await refusal(fn);
  expect(err.message).toMatch(message);
  expect(err.status).toBe(status);
  expect(await counts()).toEqual(before);
  return err;
}

type Handler = (req: Request, ctx: { params: Promise<Record<string, string>> }) => Promise<Response>;
const call = async (handler: Handler, params: Record<string, string>, body?: unknown) => {
  const res = await handler(
    new Request("https://localhost/api/v1/x", {
      method: body === undefined ? "GET" : "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
    { params: Promise.resolve(params) },
  );
  return { status: res.status, body: await res.json() };
};

beforeAll(async () => {
  stack = await startBuildTestStack(dataDir);
  ({ docker, registry } = stack);
  client = new RegistryClient(registry.url);
  customer = await makeActor(db);
  token = (await createToken(db, customer, { name: "imports" })).token;
  deps = { registry: client, publicRegistry: registry.url, store: createArtefactStore(path.join(dataDir, "artefacts")) };
  const admin = await makeActor(db, { role: "admin" });
  const yaml = `name: tiny-import\nversion: "${stamp}"\nbase_image: strata/debian:bookworm\npackages:\n  - category: system\n    name: hello\n    version: "1"\n    steps:\n      - echo "hello ${stamp}" > /etc/strata-hello\n`;
  const baseId = (await publishBaseManifest(db, admin, { yaml })).id;
  const flavour = await createFlavour(db, customer, { baseManifestId: baseId, name: `imp-${stamp}` });
  flavourId = flavour.id;
  flavourName = flavour.name;
  repo = `${customer.org.slug}/${flavourName}`;
  await saveRevision(db, customer, flavourId, { layers: [{ category: "layer", name: "alpha", version: "1", steps: [`echo one ${stamp} > /opt/alpha`] }] });
  const build = await startBuild(db, customer, flavourId, {});
  await runBuild(testBuildDeps({ db, docker, registryUrl: registry.url, dataDir }), build.id);
  parent = await getBuild(db, customer, build.id);
  expect(parent.status).toBe("succeeded");

  // The maintainer's workflow: pull the build, change it by hand, commit, push.
  await pull(parent.imageRef!);
  handRef = `${registry.url}/${repo}:hand`;
  await handMade(
    parent.imageRef!,
    `echo "changed by hand" > /opt/alpha && echo "welcome" > /etc/motd && printf '#!/bin/sh\\necho hello\\n' > /usr/local/bin/hello && chmod 755 /usr/local/bin/hello && rm /etc/strata-hello`,
    handRef,
  );
}, 900_000);

afterAll(async () => {
  await closeTestDb();
  await stack?.stop();
});

describe("importing a hand-made image", () => {
  let imported: Awaited<ReturnType<typeof getBuild>>;
  let digest: string;

  it("checks what would be imported: the digest, the parent build and the extra layer with its command", async () => {
    const { status, body: plan } = await call(checkRoute.POST, { id: flavourId }, { reference: handRef });
    expect(status).toBe(200);
    expect(plan.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(plan.parent).toMatchObject({ id: parent.id, version: parent.version });
    expect(plan.layers).toHaveLength(1);
    expect(plan.layers[0].size).toBeGreaterThan(0);
    expect(plan.layers[0].createdBy).toContain("changed by hand");
    expect(plan.version).toBe(`${parent.version}-import.1`);
    expect(plan.source).toBe(`${handRef}@${plan.digest}`);
    digest = plan.digest;
  });

  it("imports exactly that digest as a succeeded build of the flavour", async () => {
    const { status, body } = await call(importRoute.POST, { id: flavourId }, { reference: handRef, digest });
    expect(status).toBe(201);
    imported = await getBuild(db, customer, body.id);
    expect(imported).toMatchObject({
      kind: "import",
      status: "succeeded",
      version: `${parent.version}-import.1`,
      parentBuildId: parent.id,
      sourceReference: `${handRef}@${digest}`,
      imageDigest: digest,
      imageRef: `${registry.url}/${repo}:${parent.version}-import.1`,
      startedBy: customer.user.id,
    });
    expect(imported.imageSize).toBeGreaterThan(parent.imageSize!);
    // The parent's packages, then one imported layer with its artefact.
    expect(imported.packages.map((p) => p.packageId)).toEqual([...parent.packages.map((p) => p.packageId), "import/layer-1"]);
    const layer = imported.packages.at(-1)!;
    expect(layer.status).toBe("imported");
    expect(layer.artefact?.fileCount).toBeGreaterThanOrEqual(3);
    const lines = (await db.select({ line: buildLogs.line }).from(buildLogs).where(eq(buildLogs.buildId, imported.id))).map((l) => l.line).join("\n");
    expect(lines).toContain(`made from build ${parent.version}`);
    expect(lines).toContain("published repository revision");
    expect(imported.repositoryRevision).toBe((parent.repositoryRevision ?? 0) + 1);
  });

  it("puts the image into the flavour's repository under the same digest", async () => {
    const head = await client.headManifest(repo, `${parent.version}-import.1`);
    expect(head?.digest).toBe(digest);
    // And it pulls by digest like any build (the disk image maker's path for a build whose images this engine lacks).
    await pull(`${registry.url}/${repo}@${digest}`);
    const image = await docker.getImage(`${registry.url}/${repo}@${digest}`).inspect();
    expect(image.RootFS.Layers).toHaveLength((await docker.getImage(parent.imageRef!).inspect()).RootFS.Layers!.length + 1);
  });

  it("shows what the image changes against its parent build", async () => {
    const diff = await getImportDiff(db, customer, imported.id);
    expect(diff.parent).toEqual({ id: parent.id, version: parent.version });
    expect(diff.importedBy?.email).toBe(customer.user.email);
    const change = new Map(diff.files.map((f) => [f.path, f.change]));
    expect(change.get("/usr/local/bin/hello")).toBe("added");
    expect(change.get("/opt/alpha")).toBe("changed");
    expect(change.get("/etc/strata-hello")).toBe("removed");
    expect(["added", "changed"]).toContain(change.get("/etc/motd"));
    // Directories that only carry a changed file are not changes themselves.
    expect(change.has("/etc")).toBe(false);
    expect(diff.files.find((f) => f.path === "/usr/local/bin/hello")).toMatchObject({ type: "file", size: 21 });
    expect(diff.layers[0].createdBy).toContain("changed by hand");

    const { status, body } = await call(diffRoute.GET, { id: imported.id });
    expect(status).toBe(200);
    expect(body.totals.removed).toBeGreaterThanOrEqual(1);
    const notImported = await call(diffRoute.GET, { id: parent.id });
    expect(notImported.status).toBe(404);
  });

  it("numbers a second import of the same parent import.2", async () => {
    const second = `${registry.url}/${repo}:hand2`;
    await handMade(parent.imageRef!, "echo two > /opt/two", second);
    const plan = await checkImport(db, customer, flavourId, { reference: second }, deps);
    expect(plan.version).toBe(`${parent.version}-import.2`);
    const build = await importImage(db, customer, flavourId, { reference: second, digest: plan.digest }, deps);
    expect(build.version).toBe(`${parent.version}-import.2`);
  });

  it("numbers imports that run at once apart, and imports one image only once", async () => {
    const [a, b] = [`${registry.url}/${repo}:hand-a`, `${registry.url}/${repo}:hand-b`];
    await handMade(parent.imageRef!, "echo a > /opt/a", a);
    await handMade(parent.imageRef!, "echo b > /opt/b", b);
    const [planA, planB] = await Promise.all([a, b].map((reference) => checkImport(db, customer, flavourId, { reference }, deps)));
    const both = await Promise.all([
      importImage(db, customer, flavourId, { reference: a, digest: planA.digest }, deps),
      importImage(db, customer, flavourId, { reference: b, digest: planB.digest }, deps),
    ]);
    expect(both.map((x) => x.version).sort()).toEqual([`${parent.version}-import.3`, `${parent.version}-import.4`]);

    const c = `${registry.url}/${repo}:hand-c`;
    await handMade(parent.imageRef!, "echo c > /opt/c", c);
    const planC = await checkImport(db, customer, flavourId, { reference: c }, deps);
    const twice = await Promise.allSettled([1, 2].map(() => importImage(db, customer, flavourId, { reference: c, digest: planC.digest }, deps)));
    expect(twice.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const refused = twice.find((r) => r.status === "rejected") as PromiseRejectedResult;
    expect(refused.reason).toBeInstanceOf(DomainError);
    // 409 when both got past the check before either was recorded, 422 ("is build … itself") when one was recorded first.
    expect([409, 422]).toContain((refused.reason as DomainError).status);
    expect((await db.select({ n: count() }).from(builds).where(eq(builds.imageDigest, planC.digest)))[0].n).toBe(1);
  });

  it("lists a Debian package installed by hand in the import's repository revision, with its licence", async () => {
    const parentIndex = parseIndex((await db.select().from(repositoryRevisions).where(eq(repositoryRevisions.buildId, parent.id)))[0].index);
    expect(parentIndex.debianPackages.map((p) => p.name)).not.toContain("tree");
    const apt = `${registry.url}/${repo}:apt`;
    await handMade(parent.imageRef!, "apt-get update -qq && apt-get install -y -qq --no-install-recommends tree >/dev/null && rm -rf /var/lib/apt/lists/*", apt, { network: true });
    const plan = await checkImport(db, customer, flavourId, { reference: apt }, deps);
    const build = await importImage(db, customer, flavourId, { reference: apt, digest: plan.digest }, deps);
    const [revision] = await db.select().from(repositoryRevisions).where(eq(repositoryRevisions.buildId, build.id));
    const listed = parseIndex(revision.index).debianPackages;
    // tree's copyright file is DEP-5: its licence is read from the layer.
    expect(listed.find((p) => p.name === "tree")).toMatchObject({ architecture: "amd64", license: "GPL-2+" });
    // The packages the parent had are still there, with the licences read when it was built.
    for (const pkg of parentIndex.debianPackages) expect(listed).toContainEqual(pkg);
    const lines = (await db.select({ line: buildLogs.line }).from(buildLogs).where(eq(buildLogs.buildId, build.id))).map((l) => l.line).join("\n");
    expect(lines).toContain("the Debian packages of the image's own dpkg status");
  });

  it("leaves the numbering of builds alone: the next build of the revision is still .2", async () => {
    const next = await startBuild(db, customer, flavourId, {});
    expect(next.version).toBe(parent.version.replace(/\.1$/, ".2"));
    await cancelBuild(db, customer, next.id);
  });

  it("refuses an image that is a build already: nothing to import", async () => {
    await expectRefused(() => checkImport(db, customer, flavourId, { reference: handRef }, deps), 422, /is build .*-import\.1 itself.*nothing to import/);
    await expectRefused(() => checkImport(db, customer, flavourId, { reference: parent.imageRef! }, deps), 422, /nothing to import/);
  });
});

describe("refusing bad references, writing nothing", () => {
  const check = (reference: string) => () => checkImport(db, customer, flavourId, { reference }, deps);

  it("refuses references that do not parse", async () => {
    await expectRefused(check("not a reference"), 422, /names no registry host/);
    await expectRefused(check(`${registry.url}/${customer.org.slug}/x`), 422, /neither a tag nor a digest/);
    await expectRefused(check(`${registry.url}/${customer.org.slug}/UPPER:1`), 422, /not a valid repository name/);
    await expectRefused(check(`${registry.url}/${customer.org.slug}/x@sha256:abc`), 422, /malformed digest/);
    const { status, body } = await call(checkRoute.POST, { id: flavourId }, {});
    expect(status).toBe(422);
    expect(body.error.message).toMatch(/reference/);
  });

  it("refuses another organisation's repository and other registries", async () => {
    await expectRefused(check(`${registry.url}/someone-else/${flavourName}:hand`), 403, /not your organisation's/);
    await expectRefused(check(`docker.io/${customer.org.slug}/${flavourName}:hand`), 422, /only from its own registry/);
    await expectRefused(check(`ghcr.io/${customer.org.slug}/x:1`), 422, /only from its own registry/);
  });

  it("refuses what is not in the registry", async () => {
    await expectRefused(check(`${registry.url}/${customer.org.slug}/nothing-${stamp}:1`), 404, /not in the registry/);
    await expectRefused(check(`${registry.url}/${repo}:no-such-tag`), 404, /not in the registry/);
  });

  it("refuses a manifest list and non-image artifacts", async () => {
    const parentManifest = await client.getManifest(repo, parent.imageDigest!);
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.index.v1+json",
        manifests: [{ mediaType: parentManifest.mediaType, digest: parent.imageDigest, size: parentManifest.bytes.length, platform: { os: "linux", architecture: "amd64" } }],
      }),
    );
    await client.putManifest(repo, "multi", index, "application/vnd.oci.image.index.v1+json");
    await expectRefused(check(`${registry.url}/${repo}:multi`), 422, /multi-platform index.*linux\/amd64/);

    // Shaped like the disk images Strata pushes: an artifactType and a config that is no image config.
    const config = Buffer.from("{}");
    const layer = Buffer.from("not a disk");
    await client.putBlob(repo, sha256(config), config);
    await client.putBlob(repo, sha256(layer), layer);
    const artifact = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        artifactType: DISK_ARTIFACT_TYPE,
        config: { mediaType: DISK_ARTIFACT_TYPE, digest: sha256(config), size: config.length },
        layers: [{ mediaType: "application/vnd.strata.disk.raw.v1", digest: sha256(layer), size: layer.length }],
      }),
    );
    await client.putManifest(repo, "disk", artifact, "application/vnd.oci.image.manifest.v1+json");
    await expectRefused(check(`${registry.url}/${repo}:disk`), 422, /not a container image but an OCI artifact/);
    // The flavour's repository revisions are artifacts too.
    await expectRefused(check(`${registry.url}/${repo}-repo:1`), 422, /not a container image/);
  });

  it("refuses an image that is not made from a build of the flavour, naming the first layer that differs", async () => {
    // The plain base image: the builds' first layers, but it stops before their package layers.
    const plain = `${registry.url}/${customer.org.slug}/plain-${stamp}:base`;
    await docker.getImage("strata/debian:bookworm").tag({ repo: plain.slice(0, plain.lastIndexOf(":")), tag: "base" });
    await pushImage(plain);
    const short = await expectRefused(check(plain), 422, new RegExp(`not made from a build of ${flavourName}.*layer \\d+.*closest build, ${parent.version.replace(".", "\\.")}`));
    expect(short.details).toMatchObject({ closestBuild: { id: parent.id } });

    // The base changed by hand: its layer after the base's differs from every build's.
    const other = `${registry.url}/${customer.org.slug}/plain-${stamp}:changed`;
    await handMade("strata/debian:bookworm", "echo other > /etc/other", other);
    const err = await expectRefused(check(other), 422, /not made from a build/);
    const details = err.details as { firstDifferentLayer: number; imageDiffId: string; closestBuild: { diffId: string; sharedLayers: number } };
    expect(details.imageDiffId).toMatch(/^sha256:/);
    expect(details.closestBuild.diffId).toMatch(/^sha256:/);
    expect(details.imageDiffId).not.toBe(details.closestBuild.diffId);
    expect(details.firstDifferentLayer).toBe(details.closestBuild.sharedLayers + 1);
    expect(err.message).toContain(details.imageDiffId);
  });

  it("refuses a tag that moved between the check and the import (409), and a digest the reference does not name", async () => {
    const moving = `${registry.url}/${repo}:moving`;
    const hand = await client.getManifest(repo, "hand");
    await client.putManifest(repo, "moving", hand.bytes, hand.mediaType);
    const third = `${registry.url}/${repo}:third`;
    await handMade(parent.imageRef!, "echo three > /opt/three", third);
    const plan = await checkImport(db, customer, flavourId, { reference: third }, deps);
    // "moving" named the third image when checked, then someone pushed another one under it.
    const thirdManifest = await client.getManifest(repo, "third");
    await client.putManifest(repo, "moving", thirdManifest.bytes, thirdManifest.mediaType);
    const checked = await checkImport(db, customer, flavourId, { reference: moving }, deps);
    expect(checked.digest).toBe(plan.digest);
    await client.putManifest(repo, "moving", hand.bytes, hand.mediaType);
    await expectRefused(() => importImage(db, customer, flavourId, { reference: moving, digest: checked.digest }, deps), 409, /moved since it was checked/);
    const { status, body } = await call(importRoute.POST, { id: flavourId }, { reference: moving, digest: checked.digest });
    expect(status).toBe(409);
    expect(body.error.message).toMatch(/moved/);

    await expectRefused(() => importImage(db, customer, flavourId, { reference: `${third}@${hand.digest}`, digest: plan.digest }, deps), 409, /names .* not .* that was checked/);
    await expectRefused(() => importImage(db, customer, flavourId, { reference: third, digest: "sha256:nothex" }, deps), 422, /digest must be/);
  });

  it("refuses a hand-made layer with more files than an artefact may hold (422 with the limit), writing nothing", async () => {
    const crowded = `${registry.url}/${repo}:crowded`;
    await handMade(parent.imageRef!, "mkdir /opt/many && cd /opt/many && for i in $(seq 1 60); do : > f$i; done", crowded);
    const plan = await checkImport(db, customer, flavourId, { reference: crowded }, deps);
    process.env.STRATA_ARTEFACT_MAX_ENTRIES = "50";
    try {
      await expectRefused(() => importImage(db, customer, flavourId, { reference: crowded, digest: plan.digest }, deps), 422, /more than 50 files \(the limit, STRATA_ARTEFACT_MAX_ENTRIES\)/);
    } finally {
      delete process.env.STRATA_ARTEFACT_MAX_ENTRIES;
    }
  });

  it("refuses another organisation's flavour as if it did not exist", async () => {
    const stranger = await makeActor(db);
    await expectRefused(() => checkImport(db, stranger, flavourId, { reference: handRef }, deps), 404, /No such flavour/);
  });
});
