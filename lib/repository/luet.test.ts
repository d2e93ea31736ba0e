import { createHash } from "node:crypto";
import { gunzipSync } from "node:zlib";
import tar from "tar-stream";
import { beforeEach, describe, expect, test, vi } from "vitest";
import { parse } from "yaml";
import type { DbOrTx } from "../db";
import { ValidationError } from "../errors";
import { PackageDefinitionSchema, type PackageDefinitionInput } from "../manifest/schema";
import {
  LUET_META_ENTRY,
  LUET_META_FILE,
  LUET_TREE_FILE,
  luetArtefactByFileName,
  luetArtefactFileName,
  luetMetaTar,
  luetPackageMetadataYaml,
  luetRepositoryYaml,
  luetTreeTar,
} from "./luet";
import { luetRepositoryFiles } from "./luet-files";
import { listAllPackagePaths } from "./queries";
import { REPOSITORY_INDEX_MEDIA_TYPE, type IndexPackage, type RepositoryIndex } from "./types";

// luetRepositoryFiles reads file lists from the database; here they come from this stand-in.
vi.mock("./queries", () => ({ listAllPackagePaths: vi.fn() }));

const HEX_A = "a".repeat(64);
const HEX_B = "b".repeat(64);

function indexPackage(id: string, extra: Partial<PackageDefinitionInput> & { compression?: "zstd" | "gzip"; digest?: string } = {}): IndexPackage {
  const { compression = "zstd", digest = `sha256:${HEX_A}`, ...def } = extra;
  const [category, name] = id.split("/");
  const definition = PackageDefinitionSchema.parse({ category, name, version: "1", ...def });
  return {
    category,
    name,
    version: definition.version,
    description: definition.description,
    requires: definition.requires,
    fromBase: false,
    artefact: { digest, size: 100, uncompressedSize: 300, compression, fileCount: 2, deleted: [] },
    cacheKey: "c".repeat(64),
    cached: false,
    buildMs: 12,
    definition,
  };
}

const base = indexPackage("system/base", { version: "12.5", steps: ["apt-get update"], compression: "gzip", digest: `sha256:${HEX_B}` });
const motd = indexPackage("layer/motd", {
  version: "1.0",
  description: "greeting: hello # not a comment",
  requires: ["system/base"],
  steps: ["echo hi > /etc/motd"],
  includes: ["^/etc/"],
  excludes: ["^/etc/shadow$"],
});

function revision(extra: Partial<RepositoryIndex> = {}): RepositoryIndex {
  return {
    schemaVersion: 1,
    mediaType: REPOSITORY_INDEX_MEDIA_TYPE,
    org: "acme",
    flavour: "kiosk",
    revision: 7,
    createdAt: "2024-06-01T12:00:00.000Z",
    baseManifest: "strata-base 2",
    build: { id: "b-1", version: "r3.2", flavourRevision: 3, image: { reference: "registry/acme/kiosk:r3.2", digest: `sha256:${HEX_A}`, size: 1000 } },
    packages: [base, motd],
    debianPackages: [],
    totals: { packages: 2, size: 200, uncompressedSize: 600, fileCount: 4 },
    ...extra,
  };
}

describe("luetRepositoryYaml", () => {
  test("writes luet's repository.yaml fields with the revision and the creation time in unix seconds", () => {
    const doc = parse(luetRepositoryYaml(revision(), { baseUrl: "https://strata.example/luet/acme/kiosk" }));
    expect(doc).toMatchObject({
      name: "acme-kiosk",
      type: "http",
      urls: ["https://strata.example/luet/acme/kiosk"],
      revision: 7,
      last_update: "1717243200",
      repo_files: { tree: { ...LUET_TREE_FILE }, meta: { ...LUET_META_FILE } },
    });
    expect(doc.description).toContain("acme/kiosk");
    // Checksums were not given: luet verifies what is listed, so nothing is made up.
    expect(doc.repo_files.tree.checksums).toBeUndefined();
    expect(doc.repo_files.meta.checksums).toBeUndefined();
  });

  test("lists the tree and meta checksums when they are given, and no urls without a base URL", () => {
    const doc = parse(luetRepositoryYaml(revision(), { checksums: { tree: HEX_A, meta: HEX_B } }));
    expect(doc.repo_files.tree.checksums).toEqual({ sha256: HEX_A });
    expect(doc.repo_files.meta.checksums).toEqual({ sha256: HEX_B });
    expect(doc.urls).toEqual([]);
  });

  test("lists the packages in build order under the strata key, with luet's artefact names and sha256", () => {
    const doc = parse(luetRepositoryYaml(revision(), {}));
    expect(doc.strata.packages).toEqual([
      { category: "system", name: "base", version: "12.5", path: "base-system-12.5.package.tar.gz", compressiontype: "gzip", checksums: { sha256: HEX_B }, size: 100 },
      { category: "layer", name: "motd", version: "1.0", path: "motd-layer-1.0.package.tar.zst", compressiontype: "zstd", checksums: { sha256: HEX_A }, size: 100 },
    ]);
    expect(doc.strata).toMatchObject({ org: "acme", flavour: "kiosk", build: { version: "r3.2" } });
  });

  test("quotes names YAML 1.1 readers (luet's ghodss/yaml) would take as booleans or maps", () => {
    const text = luetRepositoryYaml(revision({ org: "yes", flavour: "on: #1" }), {});
    for (const version of ["1.1", "1.2"] as const) {
      const doc = parse(text, { version });
      expect(doc.name).toBe("yes-on: #1");
      expect(doc.strata.org).toBe("yes");
      expect(doc.strata.flavour).toBe("on: #1");
      expect(doc.last_update).toBe("1717243200");
    }
  });

  test("refuses an index whose creation time is not a date", () => {
    expect(() => luetRepositoryYaml(revision({ createdAt: "yesterday" }), {})).toThrow(ValidationError);
  });
});

describe("luetPackageMetadataYaml", () => {
  test("writes luet's artifact metadata keys: path, compressiontype, checksums, compilespec, files, runtime", () => {
    const text = luetPackageMetadataYaml(revision(), motd, ["/etc/motd", "/etc/issue"]);
    const doc = parse(text);
    const pkg = {
      name: "motd",
      version: "1.0",
      category: "layer",
      description: "greeting: hello # not a comment",
      packagerequires: [{ name: "base", category: "system", version: "12.5" }],
    };
    expect(doc).toEqual({
      path: "motd-layer-1.0.package.tar.zst",
      dependencies: [],
      compilespec: { steps: ["echo hi > /etc/motd"], package: pkg, includes: ["^/etc/"], excludes: ["^/etc/shadow$"] },
      checksums: { sha256: HEX_A },
      compressiontype: "zstd",
      files: ["etc/motd", "etc/issue"],
      runtime: pkg,
    });
    // Written out twice, not as an anchor and alias.
    expect(text).not.toMatch(/[&*]a\d/);
  });

  test("names a gzip artefact .package.tar.gz, as luet does", () => {
    const doc = parse(luetPackageMetadataYaml(revision(), base, []));
    expect(doc.path).toBe("base-system-12.5.package.tar.gz");
    expect(luetArtefactFileName(base)).toBe(doc.path);
    expect(doc.compressiontype).toBe("gzip");
    expect(doc.checksums).toEqual({ sha256: HEX_B });
    expect(doc.files).toEqual([]);
    expect(doc.compilespec.package.packagerequires).toEqual([]);
  });

  test("versions and paths that look like numbers, booleans or YAML syntax stay strings", () => {
    const odd = ["1.0", "10", "0o17", "0x1F", "1e3", "yes", "off", "null", "~", "2024-01-01"];
    for (const version of odd) {
      const pkg = indexPackage("layer/odd", { version });
      const files = ["/opt/- dash", "/opt/a: b", "/opt/#hash", "/opt/*star", "/opt/[x]", "/opt/'quote\"", `/opt/${version}`];
      const text = luetPackageMetadataYaml(revision({ packages: [pkg] }), pkg, files);
      for (const schema of ["1.1", "1.2"] as const) {
        const doc = parse(text, { version: schema });
        expect(doc.compilespec.package.version, `${version} read as YAML ${schema}`).toBe(version);
        expect(doc.runtime.version).toBe(version);
        expect(doc.files).toEqual(files.map((f) => f.slice(1)));
      }
    }
  });

  test("keeps a multi-line step as one string", () => {
    const pkg = indexPackage("layer/script", { steps: ["set -e\napt-get install -y curl\n"] });
    const doc = parse(luetPackageMetadataYaml(revision({ packages: [pkg] }), pkg, []));
    expect(doc.compilespec.steps).toEqual(["set -e\napt-get install -y curl\n"]);
  });

  test("refuses a package that requires one missing from the revision, or an artefact without a sha256 digest", () => {
    expect(() => luetPackageMetadataYaml(revision({ packages: [motd] }), motd, [])).toThrow(/requires system\/base/);
    const sha512 = indexPackage("layer/x", { digest: `sha512:${"a".repeat(128)}` });
    expect(() => luetPackageMetadataYaml(revision({ packages: [sha512] }), sha512, [])).toThrow(ValidationError);
  });
});

interface TarEntry {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
  body: string;
}

/** Reads a tar back as luet's unpacking sees it: entry headers and contents. */
async function untar(bytes: Buffer): Promise<TarEntry[]> {
  const entries: TarEntry[] = [];
  const extract = tar.extract();
  extract.end(bytes);
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry as AsyncIterable<Buffer>) chunks.push(chunk);
    const { name, type, mode, uid, gid, mtime } = entry.header;
    entries.push({ name, type: type ?? "", mode: mode ?? 0, uid: uid ?? -1, gid: gid ?? -1, mtime: mtime ?? new Date(NaN), body: Buffer.concat(chunks).toString("utf8") });
  }
  return entries;
}

const sha256Hex = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

describe("luetTreeTar", () => {
  test("is a gzip tar with <category>/<name>/<version>/definition.yaml per package, as luet's tree loader reads it", async () => {
    const entries = await untar(gunzipSync(await luetTreeTar(revision())));
    expect(entries.map((e) => `${e.type} ${e.name}`)).toEqual([
      "directory layer/",
      "directory layer/motd/",
      "directory layer/motd/1.0/",
      "file layer/motd/1.0/definition.yaml",
      "directory system/",
      "directory system/base/",
      "directory system/base/12.5/",
      "file system/base/12.5/definition.yaml",
    ]);
    const definition = (name: string) => parse(entries.find((e) => e.name === name)!.body, { version: "1.1" });
    // types.PackageFromYaml reads JSON tags: `requires`, each an exact version of a package of this revision.
    expect(definition("layer/motd/1.0/definition.yaml")).toEqual({
      name: "motd",
      version: "1.0",
      category: "layer",
      description: "greeting: hello # not a comment",
      requires: [{ name: "base", category: "system", version: "12.5" }],
    });
    expect(definition("system/base/12.5/definition.yaml")).toMatchObject({ name: "base", version: "12.5", category: "system", requires: [] });
  });

  test("has fixed owners, modes and the revision's creation time, and the same bytes on every call", async () => {
    const first = await luetTreeTar(revision());
    expect((await luetTreeTar(revision())).equals(first)).toBe(true);
    for (const entry of await untar(gunzipSync(first))) {
      expect(entry).toMatchObject({ uid: 0, gid: 0, mode: entry.type === "directory" ? 0o755 : 0o644 });
      expect(entry.mtime.toISOString()).toBe("2024-06-01T12:00:00.000Z");
    }
    // Another revision's tree is other bytes (its packages differ).
    expect((await luetTreeTar(revision({ packages: [base] }))).equals(first)).toBe(false);
  });

  test("keeps a version no folder can be named in the file, and the folder inside the tree", async () => {
    const odd = indexPackage("layer/odd", { version: ".." });
    const slash = indexPackage("layer/slash", { version: "1.0/beta" });
    const entries = await untar(gunzipSync(await luetTreeTar(revision({ packages: [odd, slash] }))));
    const files = entries.filter((e) => e.type === "file");
    expect(files.map((e) => e.name)).toEqual(["layer/odd/__/definition.yaml", "layer/slash/1.0_beta/definition.yaml"]);
    expect(files.map((e) => parse(e.body, { version: "1.1" }).version)).toEqual(["..", "1.0/beta"]);
  });
});

describe("luetMetaTar", () => {
  const files = new Map([
    [`sha256:${HEX_A}`, ["/etc/motd", "/etc/issue"]],
    [`sha256:${HEX_B}`, ["/usr/bin/base"]],
  ]);

  test("is a tar of repository.meta.yaml: luet's artifact index with JSON-tag keys, one artifact per package", async () => {
    const entries = await untar(await luetMetaTar(revision(), files));
    expect(entries.map((e) => e.name)).toEqual([LUET_META_ENTRY]);
    const meta = parse(entries[0].body, { version: "1.1" });
    const motdPkg = { name: "motd", version: "1.0", category: "layer", description: "greeting: hello # not a comment", requires: [{ name: "base", category: "system", version: "12.5" }] };
    expect(meta.index).toHaveLength(2);
    expect(meta.index[0]).toMatchObject({ path: "base-system-12.5.package.tar.gz", checksums: { sha256: HEX_B }, compressiontype: "gzip", files: ["usr/bin/base"] });
    expect(meta.index[1]).toEqual({
      path: "motd-layer-1.0.package.tar.zst",
      dependencies: [],
      compilationspec: { steps: ["echo hi > /etc/motd"], package: motdPkg, includes: ["^/etc/"], excludes: ["^/etc/shadow$"] },
      checksums: { sha256: HEX_A },
      compressiontype: "zstd",
      // Sorted, without the leading "/", as luet lists tar members.
      files: ["etc/issue", "etc/motd"],
      runtime: motdPkg,
    });
    // The path is what an install fetches: the artefact route's name.
    expect(meta.index.map((a: { path: string }) => a.path)).toEqual([luetArtefactFileName(base), luetArtefactFileName(motd)]);
  });

  test("gives the same bytes whatever order the file lists come in, and lists no files for an artefact it has none of", async () => {
    const first = await luetMetaTar(revision(), files);
    const reordered = new Map([...files].reverse().map(([digest, paths]) => [digest, [...paths].reverse()]));
    expect((await luetMetaTar(revision(), reordered)).equals(first)).toBe(true);
    const meta = parse((await untar(await luetMetaTar(revision(), new Map())))[0].body);
    expect(meta.index.map((a: { files: string[] }) => a.files)).toEqual([[], []]);
  });
});

describe("luetRepositoryFiles", () => {
  const paths = vi.mocked(listAllPackagePaths);
  const db = {} as DbOrTx;
  beforeEach(() => {
    paths.mockReset();
    paths.mockImplementation(async (_db, digest) => (digest === `sha256:${HEX_A}` ? ["/etc/motd"] : ["/usr/bin/base"]));
  });

  test("repository.yaml lists the sha256 of exactly the tree and meta bytes that are served", async () => {
    const index = revision({ revision: 41 });
    const files = await luetRepositoryFiles(db, { digest: `sha256:${"4".repeat(64)}`, index });
    expect(files.checksums).toEqual({ tree: sha256Hex(files.tree), meta: sha256Hex(files.meta) });
    expect(files.tree.equals(await luetTreeTar(index))).toBe(true);
    const meta = parse((await untar(files.meta))[0].body);
    expect(meta.index.map((a: { files: string[] }) => a.files)).toEqual([["usr/bin/base"], ["etc/motd"]]);
    const doc = parse(luetRepositoryYaml(index, { checksums: files.checksums }));
    expect(doc.repo_files.tree).toEqual({ ...LUET_TREE_FILE, checksums: { sha256: sha256Hex(files.tree) } });
    expect(doc.repo_files.meta).toEqual({ ...LUET_META_FILE, checksums: { sha256: sha256Hex(files.meta) } });
  });

  test("reads a revision's file lists once for the three requests of one `luet repo update`", async () => {
    const index = revision({ revision: 42 });
    const revisionRef = { digest: `sha256:${"5".repeat(64)}`, index };
    const first = await luetRepositoryFiles(db, revisionRef);
    const second = await luetRepositoryFiles(db, revisionRef);
    expect(second.meta.equals(first.meta)).toBe(true);
    expect(paths).toHaveBeenCalledTimes(2);
  });

  test("does not keep a failed read", async () => {
    const revisionRef = { digest: `sha256:${"6".repeat(64)}`, index: revision({ revision: 43 }) };
    paths.mockRejectedValueOnce(new Error("connection reset"));
    await expect(luetRepositoryFiles(db, revisionRef)).rejects.toThrow("connection reset");
    await expect(luetRepositoryFiles(db, revisionRef)).resolves.toMatchObject({ checksums: { tree: expect.any(String) } });
  });
});

describe("luetArtefactByFileName", () => {
  test("finds the package whose artefact luet fetches by that name", () => {
    expect(luetArtefactByFileName(revision(), "motd-layer-1.0.package.tar.zst")).toBe(motd);
    expect(luetArtefactByFileName(revision(), "base-system-12.5.package.tar.gz")).toBe(base);
  });

  test("finds nothing for another name, another compression or a name with a path in it", () => {
    for (const name of ["", "motd-layer-1.0.package.tar.gz", "motd-layer-2.0.package.tar.zst", "repository.yaml", "../motd-layer-1.0.package.tar.zst", "x/motd-layer-1.0.package.tar.zst", "..\\motd-layer-1.0.package.tar.zst"]) {
      expect(luetArtefactByFileName(revision(), name), name).toBeUndefined();
    }
    const dotted = indexPackage("layer/dots", { version: "1..2" });
    expect(luetArtefactByFileName(revision({ packages: [dotted] }), luetArtefactFileName(dotted))).toBeUndefined();
  });
});
