// Repository revisions end to end against the real PostgreSQL, dockerd and registry: two builds of a small flavour
// publish revisions 1 and 2; their index, diff, Debian packages, SBOM and artefacts are read back through the REST
// handlers and, as any OCI client would, with skopeo from the registry. Bad input is refused without side effects.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { gunzipSync } from "node:zlib";
import { inject } from "vitest";
import { count, eq } from "drizzle-orm";
import type Dockerode from "dockerode";
import Ajv from "ajv";
import addFormats from "ajv-formats";
import { parse } from "yaml";
import { closeTestDb, makeActor, testDb } from "../testing/fixtures";
import { testBuildDeps } from "../testing/build-deps";
import { getPool } from "../db";
import { artefactFiles, builds, repositoryPackages, repositoryRevisions } from "../db/schema";
import { publishBaseManifest } from "../base-manifests/base-manifests";
import { createFlavour, saveRevision } from "../flavours/flavours";
import { getBuild, startBuild } from "../builds/builds";
import { createToken } from "../auth/tokens";
import { ensureDockerEngine, type DockerEngine } from "../../scripts/dev-stack/docker";
import { ensureRegistry, type RegistryService } from "../../scripts/dev-stack/registry";
import { RegistryClient } from "../registry/client";
import { createArtefactStore } from "../builder/artefact-store";
import { ensureBaseImage } from "../builder/base-image";
import { runBuild, type BuildDeps } from "../builder/run-build";
import type { Actor } from "../auth/actor";
import type { PackageDefinitionInput } from "../manifest/schema";
import { artefactResponse } from "./download";
import { backfillRepositories } from "./backfill";
import { findArtefactForDownload } from "./queries";
import type { RepositoryIndex } from "./types";
import * as revisionsRoute from "@/app/api/v1/flavours/[id]/repository/route";
import * as revisionRoute from "@/app/api/v1/flavours/[id]/repository/[number]/route";
import * as indexRoute from "@/app/api/v1/flavours/[id]/repository/[number]/index.json/route";
import * as luetRoute from "@/app/api/v1/flavours/[id]/repository/[number]/repository.yaml/route";
import * as sbomRoute from "@/app/api/v1/flavours/[id]/repository/[number]/sbom.spdx.json/route";
import * as searchRoute from "@/app/api/v1/flavours/[id]/repository/[number]/files/route";
import * as packageRoute from "@/app/api/v1/flavours/[id]/repository/[number]/packages/[category]/[name]/route";
import * as packageFilesRoute from "@/app/api/v1/flavours/[id]/repository/[number]/packages/[category]/[name]/files/route";
import * as metadataRoute from "@/app/api/v1/flavours/[id]/repository/[number]/packages/[category]/[name]/metadata.yaml/route";
import * as luetTreeRoute from "@/app/api/v1/flavours/[id]/repository/[number]/tree.tar.gz/route";
import * as luetMetaRoute from "@/app/api/v1/flavours/[id]/repository/[number]/repository.meta.yaml.tar/route";
import * as luetArtefactRoute from "@/app/api/v1/flavours/[id]/repository/[number]/[file]/route";
import * as diffRoute from "@/app/api/v1/flavours/[id]/repository/diff/route";
import * as diffByIdRoute from "@/app/api/v1/repository/diff/route";
import * as artefactRoute from "@/app/api/v1/artefacts/[digest]/route";
import spdxSchema from "./testdata/spdx-2.3.schema.json";

const run = promisify(execFile);
process.env.DATABASE_URL = inject("databaseUrl");
process.env.STRATA_LOG_REQUESTS = "0";
const db = testDb();
const dataDir = path.resolve(".data/test");
// The web side's artefact store is the workers' one (one machine), as with `npm run up`.
process.env.STRATA_DATA_DIR = dataDir;
let engine: DockerEngine;
let registry: RegistryService;
let docker: Dockerode;
let customer: Actor;
let token: string;
let otherToken: string;
let baseId: string;

const stamp = Date.now().toString(36);
const deps = (extra: Partial<BuildDeps> = {}): BuildDeps => testBuildDeps({ db, docker, registryUrl: registry.url, dataDir }, extra);

type Handler = (req: Request, ctx: { params: Promise<Record<string, string>> }) => Promise<Response>;
const call = (handler: Handler, params: Record<string, string>, opts: { query?: string; headers?: Record<string, string>; as?: string; method?: string } = {}) =>
  handler(new Request(`https://localhost/api/v1/x${opts.query ? `?${opts.query}` : ""}`, { method: opts.method ?? "GET", headers: { authorization: `Bearer ${opts.as ?? token}`, ...opts.headers } }), {
    params: Promise.resolve(params),
  });
const json = async (res: Response) => ({ status: res.status, body: await res.json() });
const sha256 = (bytes: Buffer | Uint8Array) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

const layer = (name: string, version: string, steps: string[]): PackageDefinitionInput => ({ category: "layer", name, version, steps });
const toolPath = `/opt/${stamp}/tool`;
const revision1 = [layer("alpha", "1", [`echo one > /opt/alpha`])];
// alpha changes its content but not its size; beta is new and ships a file in a directory of its own.
const revision2 = [layer("alpha", "2", [`echo two > /opt/alpha`]), { ...layer("beta", "1", [`mkdir -p /opt/${stamp}`, `printf '#!/bin/sh\\necho tool\\n' > ${toolPath}`, `chmod 755 ${toolPath}`]), requires: ["layer/alpha"] }];

async function buildAndGet(flavourId: string, extra: Partial<BuildDeps> = {}) {
  const build = await startBuild(db, customer, flavourId, {});
  await runBuild(deps(extra), build.id);
  return getBuild(db, customer, build.id);
}

let flavourId: string;
let flavourName: string;
let first: Awaited<ReturnType<typeof getBuild>>;
let second: Awaited<ReturnType<typeof getBuild>>;

beforeAll(async () => {
  engine = await ensureDockerEngine({ dataDir });
  docker = engine.docker;
  registry = process.env.REGISTRY_URL ? await ensureRegistry({ dataDir }) : await ensureRegistry({ dataDir, port: 5056 });
  process.env.REGISTRY_URL = registry.url;
  await ensureBaseImage(docker, "strata/debian:bookworm", { workDir: dataDir });
  customer = await makeActor(db);
  token = (await createToken(db, customer, { name: "repo" })).token;
  otherToken = (await createToken(db, await makeActor(db), { name: "other" })).token;
  const admin = await makeActor(db, { role: "admin" });
  const yaml = `name: tiny-repo\nversion: "${stamp}"\nbase_image: strata/debian:bookworm\npackages:\n  - category: system\n    name: hello\n    version: "1"\n    steps:\n      - echo "hello ${stamp}" > /etc/strata-hello\n`;
  baseId = (await publishBaseManifest(db, admin, { yaml })).id;

  const flavour = await createFlavour(db, customer, { baseManifestId: baseId, name: `repo-${stamp}` });
  flavourId = flavour.id;
  flavourName = flavour.name;
  await saveRevision(db, customer, flavourId, { layers: revision1 });
  first = await buildAndGet(flavourId);
  await saveRevision(db, customer, flavourId, { layers: revision2 });
  second = await buildAndGet(flavourId);
}, 600_000);

afterAll(async () => {
  await closeTestDb();
  await registry?.stop();
  await engine?.stop();
});

describe("publishing", () => {
  it("makes every successful build a numbered repository revision", async () => {
    expect(first.error).toBeNull();
    expect(second.error).toBeNull();
    expect([first.repositoryRevision, second.repositoryRevision]).toEqual([1, 2]);
    const { status, body } = await json(await call(revisionsRoute.GET, { id: flavourId }));
    expect(status).toBe(200);
    expect(body.revisions.map((r: { number: number }) => r.number)).toEqual([2, 1]);
    expect(body.next).toBeNull();
    expect(body.revisions[0]).toMatchObject({ buildId: second.id, version: second.version, packageCount: 3, reference: `${registry.url}/${customer.org.slug}/${flavourName}-repo:2` });
  });

  it("serves an index whose bytes hash to the recorded digest and list every package", async () => {
    const res = await call(indexRoute.GET, { id: flavourId, number: "2" });
    expect(res.status).toBe(200);
    const bytes = Buffer.from(await res.arrayBuffer());
    const { body: revision } = await json(await call(revisionRoute.GET, { id: flavourId, number: "2" }));
    expect(sha256(bytes)).toBe(revision.revision.indexDigest);
    expect(res.headers.get("etag")).toBe(`"${revision.revision.indexDigest}"`);
    expect((await call(indexRoute.GET, { id: flavourId, number: "2" }, { headers: { "if-none-match": res.headers.get("etag")! } })).status).toBe(304);

    const index = JSON.parse(bytes.toString()) as RepositoryIndex;
    expect(index).toMatchObject({ schemaVersion: 1, org: customer.org.slug, flavour: flavourName, revision: 2, build: { id: second.id, version: second.version, image: { digest: second.imageDigest } } });
    expect(index.packages.map((p) => [`${p.category}/${p.name}`, p.version, p.fromBase])).toEqual([
      ["system/hello", "1", true],
      ["layer/alpha", "2", false],
      ["layer/beta", "1", false],
    ]);
    const beta = index.packages[2];
    expect(beta.requires).toEqual(["layer/alpha"]);
    expect(beta.cached).toBe(false);
    expect(beta.buildMs).toBeGreaterThan(0);
    expect(beta.artefact).toMatchObject({ compression: "zstd", fileCount: 1 });
    expect(beta.artefact.digest).toBe(second.packages[2].artefact!.digest);
    // The base package was built for revision 1 and reused.
    expect(index.packages[0].cached).toBe(true);
    expect(index.packages[0].cacheKey).toBe(first.packages[0].cacheKey);
    expect(index.totals.packages).toBe(3);
  });

  it("lists the Debian packages of the image from its dpkg database", async () => {
    const { body } = await json(await call(revisionRoute.GET, { id: flavourId, number: "2" }));
    const names = body.debianPackages.map((d: { name: string }) => d.name);
    expect(names).toEqual(expect.arrayContaining(["base-files", "dpkg", "libc6"]));
    const dpkg = body.debianPackages.find((d: { name: string }) => d.name === "dpkg");
    expect(dpkg).toMatchObject({ architecture: "amd64" });
    expect(dpkg.version).toMatch(/^1\.21\./);
    expect(body.revision.debianPackageCount).toBe(body.debianPackages.length);
    // dpkg's own copyright file is machine-readable.
    expect(dpkg.license).toBeTruthy();
  });

  it("is an OCI artifact any client can copy: config = index, layers = artefacts", async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "strata-repo-"));
    try {
      const reference = `${registry.url}/${customer.org.slug}/${flavourName}-repo:2`;
      await run("skopeo", ["copy", "--src-tls-verify=false", `docker://${reference}`, `dir:${out}`]);
      const manifest = JSON.parse(fs.readFileSync(path.join(out, "manifest.json"), "utf8"));
      expect(manifest.artifactType).toBe("application/vnd.strata.repository.v1");
      expect(manifest.config.mediaType).toBe("application/vnd.strata.repository.index.v1+json");
      const blob = (digest: string) => fs.readFileSync(path.join(out, digest.slice("sha256:".length)));
      const index = JSON.parse(blob(manifest.config.digest).toString()) as RepositoryIndex;
      expect(index.revision).toBe(2);
      expect(manifest.layers.map((l: { digest: string }) => l.digest)).toEqual(index.packages.map((p) => p.artefact.digest));
      for (const layerDescriptor of manifest.layers) {
        expect(sha256(blob(layerDescriptor.digest))).toBe(layerDescriptor.digest);
        expect(layerDescriptor.annotations["org.opencontainers.image.title"]).toMatch(/\.package\.tar\.zst$/);
      }
      expect(manifest.layers[2].annotations).toMatchObject({ "io.strata.package": "layer/beta", "io.strata.version": "1" });
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  it("writes luet's repository.yaml and metadata.yaml, and an SPDX 2.3 SBOM the schema accepts", async () => {
    const repoYaml = await call(luetRoute.GET, { id: flavourId, number: "2" });
    expect(repoYaml.status).toBe(200);
    expect(await repoYaml.text()).toMatch(/revision: 2/);
    const metadata = await call(metadataRoute.GET, { id: flavourId, number: "2", category: "layer", name: "beta" });
    expect(metadata.status).toBe(200);
    expect(await metadata.text()).toContain(toolPath.slice(1));

    const sbomRes = await call(sbomRoute.GET, { id: flavourId, number: "2" });
    expect(sbomRes.status).toBe(200);
    const sbom = await sbomRes.json();
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    const validate = ajv.compile(spdxSchema);
    expect(validate(sbom), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
    const names = sbom.packages.map((p: { name: string }) => p.name);
    expect(names).toEqual(expect.arrayContaining(["dpkg", "layer/beta"]));
    const beta = sbom.packages.find((p: { name: string }) => p.name === "layer/beta");
    expect(beta.checksums).toEqual([{ algorithm: "SHA256", checksumValue: second.packages[2].artefact!.digest.slice(7) }]);
  });

  it("serves the revision as a luet HTTP repository: the files repository.yaml names, with its checksums, and artefacts by luet name", async () => {
    const revision = { id: flavourId, number: "2" };
    const repo = parse(await (await call(luetRoute.GET, revision)).text());
    const treeRes = await call(luetTreeRoute.GET, revision);
    const metaRes = await call(luetMetaRoute.GET, revision);
    expect([treeRes.status, metaRes.status]).toEqual([200, 200]);
    const tree = Buffer.from(await treeRes.arrayBuffer());
    const meta = Buffer.from(await metaRes.arrayBuffer());
    expect(`sha256:${repo.repo_files.tree.checksums.sha256}`).toBe(sha256(tree));
    expect(`sha256:${repo.repo_files.meta.checksums.sha256}`).toBe(sha256(meta));
    expect(gunzipSync(tree).toString("latin1")).toContain("layer/beta/1/definition.yaml");
    // The meta tar is uncompressed: beta's files are in it as luet lists them, without directories.
    expect(meta.toString("utf8")).toContain(`- ${toolPath.slice(1)}\n`);
    expect(meta.toString("utf8")).not.toMatch(/^\s+- opt\n/m);
    // The same bytes on every request, and a 304 for the ETag.
    expect(sha256(Buffer.from(await (await call(luetTreeRoute.GET, revision)).arrayBuffer()))).toBe(sha256(tree));
    expect((await call(luetMetaRoute.GET, revision, { headers: { "if-none-match": metaRes.headers.get("etag")! } })).status).toBe(304);

    const beta = repo.strata.packages.find((p: { name: string }) => p.name === "beta");
    const artefact = await call(luetArtefactRoute.GET, { ...revision, file: beta.path });
    expect(artefact.status).toBe(200);
    expect(sha256(Buffer.from(await artefact.arrayBuffer()))).toBe(`sha256:${beta.checksums.sha256}`);
    expect((await call(luetArtefactRoute.HEAD, { ...revision, file: beta.path }, { method: "HEAD" })).headers.get("content-length")).toBe(String(beta.size));
    for (const file of ["nope-layer-1.package.tar.zst", `..%2F${beta.path}`, "%zz"]) {
      expect((await call(luetArtefactRoute.GET, { ...revision, file })).status, file).toBe(404);
    }
    expect((await call(luetArtefactRoute.GET, { ...revision, file: beta.path }, { as: otherToken })).status).toBe(404);
  });
});

describe("browsing", () => {
  it("finds which package ships a path", async () => {
    const { status, body } = await json(await call(searchRoute.GET, { id: flavourId, number: "2" }, { query: `q=${encodeURIComponent(`${stamp}/to`)}` }));
    expect(status).toBe(200);
    expect(body.matches).toEqual([expect.objectContaining({ path: toolPath, type: "file", mode: 0o755, package: { category: "layer", name: "beta", version: "1" } })]);
    expect(body.matches[0].sha256).toBe(sha256(Buffer.from("#!/bin/sh\necho tool\n")));
    // The path itself first, then files of that name, then the rest by path; pages follow an opaque cursor.
    const named = (await json(await call(searchRoute.GET, { id: flavourId, number: "2" }, { query: "q=alpha&limit=1" }))).body;
    expect(named.matches.map((m: { path: string }) => m.path)).toEqual(["/opt/alpha"]);
    const byName = (await json(await call(searchRoute.GET, { id: flavourId, number: "2" }, { query: `q=${encodeURIComponent(`${stamp}`)}&limit=1` }))).body;
    expect(byName.matches.map((m: { path: string }) => m.path)).toEqual([`/opt/${stamp}`]);
    const rest = (await json(await call(searchRoute.GET, { id: flavourId, number: "2" }, { query: `q=${stamp}&limit=5&after=${byName.next}` }))).body;
    expect(rest.matches.map((m: { path: string }) => m.path)).toEqual([toolPath]);
    expect(rest.next).toBeNull();
    const badCursor = await json(await call(searchRoute.GET, { id: flavourId, number: "2" }, { query: "q=tool&after=%2Fetc" }));
    expect(badCursor.status).toBe(400);
    expect(badCursor.body.error.message).toMatch(/next/);
    // Pattern characters are literal: "%" matches nothing here.
    expect((await json(await call(searchRoute.GET, { id: flavourId, number: "2" }, { query: "q=%25" }))).body.matches).toEqual([]);
  });

  it("pages through a package's files in path order", async () => {
    const page1 = (await json(await call(packageFilesRoute.GET, { id: flavourId, number: "2", category: "layer", name: "beta" }, { query: "limit=1" }))).body;
    expect(page1.files.map((f: { path: string }) => f.path)).toEqual(["/opt"]);
    expect(page1.total).toBe(3);
    const page2 = (await json(await call(packageFilesRoute.GET, { id: flavourId, number: "2", category: "layer", name: "beta" }, { query: `limit=5&after=${encodeURIComponent(page1.next)}` }))).body;
    expect(page2.files.map((f: { path: string }) => f.path)).toEqual([`/opt/${stamp}`, toolPath]);
    expect(page2.next).toBeNull();
    const pkg = (await json(await call(packageRoute.GET, { id: flavourId, number: "2", category: "layer", name: "alpha" }))).body;
    expect(pkg.package.definition.steps).toEqual(["echo two > /opt/alpha"]);
    expect(pkg.requiredBy).toEqual(["layer/beta"]);
  });

  it("diffs two revisions: packages, files (content by digest) and sizes", async () => {
    const { status, body } = await json(await call(diffRoute.GET, { id: flavourId }, { query: "from=1&to=2" }));
    expect(status).toBe(200);
    expect(body.packages.added.map((p: { name: string }) => p.name)).toEqual(["beta"]);
    expect(body.packages.removed).toEqual([]);
    expect(body.packages.changed).toHaveLength(1);
    const alpha = body.packages.changed[0];
    expect(alpha).toMatchObject({ key: "layer/alpha", versionChanged: true, sameArtefact: false });
    expect(alpha.files.changed).toEqual([expect.objectContaining({ path: "/opt/alpha", changes: ["content"] })]);
    expect(body.packages.unchanged).toBe(1);
    expect(body.packages.sizeDelta).toBe(alpha.sizeDelta + body.packages.added[0].artefact.size);
    expect(body.debianPackages).toEqual({ added: [], removed: [], changed: [] });
  });
});

describe("downloads", () => {
  const digestOf = () => second.packages[2].artefact!.digest;

  it("streams an artefact whose sha256 is its digest, with ETag, Range and immutable caching", async () => {
    const res = await call(artefactRoute.GET, { digest: digestOf() });
    expect(res.status).toBe(200);
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(sha256(bytes)).toBe(digestOf());
    expect(res.headers.get("etag")).toBe(`"${digestOf()}"`);
    expect(res.headers.get("cache-control")).toMatch(/public.*immutable/);
    expect(res.headers.get("content-type")).toBe("application/zstd");

    const part = await call(artefactRoute.GET, { digest: encodeURIComponent(digestOf()) }, { headers: { range: "bytes=4-9" } });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe(`bytes 4-9/${bytes.length}`);
    expect(Buffer.from(await part.arrayBuffer())).toEqual(bytes.subarray(4, 10));
    expect((await call(artefactRoute.GET, { digest: digestOf() }, { headers: { "if-none-match": `"${digestOf()}"` } })).status).toBe(304);
    const head = await call(artefactRoute.HEAD, { digest: digestOf() }, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe(String(bytes.length));
  });

  it("serves from the registry when this machine's store lacks the blob", async () => {
    const artefact = await findArtefactForDownload(db, customer, digestOf());
    expect(artefact.registryRepository).toBe(`${customer.org.slug}/${flavourName}-repo`);
    const sources = { store: null, registry: new RegistryClient(registry.url) };
    const whole = await artefactResponse(new Request("https://localhost/x"), artefact, sources);
    expect(sha256(Buffer.from(await whole.arrayBuffer()))).toBe(digestOf());
    const part = await artefactResponse(new Request("https://localhost/x", { headers: { range: "bytes=-5" } }), artefact, sources);
    expect(part.status).toBe(206);
    expect((await part.arrayBuffer()).byteLength).toBe(5);
    // Missing everywhere: a 404 with a message, not a 500.
    await expect(artefactResponse(new Request("https://localhost/x"), { ...artefact, registryRepository: null }, { store: null, registry: null })).rejects.toThrow(/neither/);
  });
});

describe("bad input changes nothing and gets a clear 4xx", () => {
  it.each([
    ["a digest that is not sha256:<64 hex>", { digest: "sha256:xyz" }, {}, 400, /64 lowercase hex/],
    ["a path-traversal digest", { digest: "sha256:../../../etc/passwd" }, {}, 400, /sha256/],
    ["an unknown digest", { digest: `sha256:${"0".repeat(64)}` }, {}, 404, /No artefact/],
    ["a malformed Range", { digest: "" }, { range: "bytes=abc" }, 400, /malformed/],
    ["an unsatisfiable Range", { digest: "" }, { range: "bytes=99999999-" }, 416, /outside/],
  ])("artefact: %s", async (_case, params, headers, status, message) => {
    const digest = params.digest || second.packages[2].artefact!.digest;
    const res = await call(artefactRoute.GET, { digest }, { headers });
    expect(res.status).toBe(status);
    expect((await res.json()).error.message).toMatch(message);
  });

  it("hides another organisation's repository and artefacts behind 404s", async () => {
    expect((await call(revisionsRoute.GET, { id: flavourId }, { as: otherToken })).status).toBe(404);
    expect((await call(indexRoute.GET, { id: flavourId, number: "1" }, { as: otherToken })).status).toBe(404);
    expect((await call(artefactRoute.GET, { digest: second.packages[2].artefact!.digest }, { as: otherToken })).status).toBe(404);
  });

  it.each([
    ["an unknown revision", { number: "9" }, "", 404, /No repository revision 9/],
    ["a revision that is not a number", { number: "1;drop" }, "", 404, /No such/],
    ["a package path-traversal attempt", { number: "2", category: "..", name: "etc" }, "", 404, /No package/],
  ])("revision: %s", async (_case, params, query, status, message) => {
    const handler = "category" in params ? packageRoute.GET : revisionRoute.GET;
    const res = await call(handler, { id: flavourId, ...params }, { query });
    expect(res.status).toBe(status);
    expect((await res.json()).error.message).toMatch(message);
  });

  it("refuses a file search without text, and diffs with missing, unknown or cross-flavour revisions", async () => {
    expect((await json(await call(searchRoute.GET, { id: flavourId, number: "2" }, { query: "q=" }))).body.error.message).toMatch(/part of a path/);
    expect((await call(diffRoute.GET, { id: flavourId }, { query: "from=1" })).status).toBe(400);
    expect((await call(diffRoute.GET, { id: flavourId }, { query: "from=x&to=2" })).status).toBe(400);
    expect((await call(diffRoute.GET, { id: flavourId }, { query: "from=1&to=7" })).status).toBe(404);

    // A revision of another flavour (a quick one: the base package only).
    const other = await createFlavour(db, customer, { baseManifestId: baseId, name: `repo-other-${stamp}` });
    const otherBuild = await buildAndGet(other.id);
    expect(otherBuild.repositoryRevision).toBe(1);
    const [a] = await db.select({ id: repositoryRevisions.id }).from(repositoryRevisions).where(eq(repositoryRevisions.buildId, second.id));
    const [b] = await db.select({ id: repositoryRevisions.id }).from(repositoryRevisions).where(eq(repositoryRevisions.buildId, otherBuild.id));
    const cross = await json(await call(diffByIdRoute.GET, {}, { query: `from=${a.id}&to=${b.id}` }));
    expect(cross.status).toBe(400);
    expect(cross.body.error.message).toMatch(/different flavours/);
    expect((await call(diffByIdRoute.GET, {}, { query: `from=${a.id}&to=nope` })).status).toBe(400);
  });
});

describe("atomicity and backfill", () => {
  it("fails the build and leaves no revision when publishing the repository fails", async () => {
    const flavour = await createFlavour(db, customer, { baseManifestId: baseId, name: `repo-fail-${stamp}` });
    // The real registry, refusing only the repository's manifest (a registry outage at that moment cannot be staged).
    class RefusingRegistry extends RegistryClient {
      override async putManifest(repo: string, reference: string, bytes: Buffer, mediaType: string) {
        if (repo.endsWith("-repo")) throw new Error("the registry refused the repository manifest");
        return super.putManifest(repo, reference, bytes, mediaType);
      }
    }
    const build = await buildAndGet(flavour.id, { registry: new RefusingRegistry(registry.url) });
    expect(build.status).toBe("failed");
    expect(build.error).toMatch(/refused the repository manifest/);
    expect(build.repositoryRevision).toBeNull();
    const [{ n }] = await db.select({ n: count() }).from(repositoryRevisions).where(eq(repositoryRevisions.flavourId, flavour.id));
    expect(n).toBe(0);
  });

  it("publishes earlier successful builds that have no revision, once", async () => {
    const flavour = await createFlavour(db, customer, { baseManifestId: baseId, name: `repo-old-${stamp}` });
    await saveRevision(db, customer, flavour.id, { layers: revision1 });
    const build = await buildAndGet(flavour.id);
    const [published] = await db.select().from(repositoryRevisions).where(eq(repositoryRevisions.buildId, build.id));
    // Its image is revision 1's (same layers, same keys): the Debian packages were taken from there, not read again.
    const [firstRevision] = await db.select().from(repositoryRevisions).where(eq(repositoryRevisions.buildId, first.id));
    expect(published.imageKey).toBe(firstRevision.imageKey);
    expect(JSON.parse(published.index).debianPackages).toEqual(JSON.parse(firstRevision.index).debianPackages);
    // As before the upgrade: the build succeeded, no revision exists.
    await db.delete(repositoryRevisions).where(eq(repositoryRevisions.id, published.id));
    const backfill = () => backfillRepositories({ db, pool: getPool(), docker, registry: new RegistryClient(registry.url), publicRegistry: registry.url, store: createArtefactStore(path.join(dataDir, "artefacts")) });
    expect((await backfill()).failed).toBe(0);
    const [again] = await db.select().from(repositoryRevisions).where(eq(repositoryRevisions.buildId, build.id));
    expect(again.number).toBe(1);
    const index = JSON.parse(again.index) as RepositoryIndex;
    expect(index.packages.map((p) => p.artefact.digest)).toEqual(JSON.parse(published.index).packages.map((p: { artefact: { digest: string } }) => p.artefact.digest));
    expect(index.debianPackages.length).toBeGreaterThan(0);
    const [{ n }] = await db.select({ n: count() }).from(repositoryPackages).where(eq(repositoryPackages.revisionId, again.id));
    expect(n).toBe(2);
    // Nothing left to do: a second run publishes nothing.
    await backfill();
    const [{ revisions }] = await db.select({ revisions: count() }).from(repositoryRevisions).where(eq(repositoryRevisions.flavourId, flavour.id));
    expect(revisions).toBe(1);
    const [{ files }] = await db.select({ files: count() }).from(artefactFiles).where(eq(artefactFiles.artefactDigest, index.packages[1].artefact.digest));
    expect(files).toBeGreaterThan(0);
    expect((await db.select({ status: builds.status }).from(builds).where(eq(builds.id, build.id)))[0].status).toBe("succeeded");
  });
});
