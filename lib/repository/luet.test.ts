import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import { ValidationError } from "../errors";
import { PackageDefinitionSchema, type PackageDefinitionInput } from "../manifest/schema";
import { LUET_META_FILE, LUET_TREE_FILE, luetArtefactFileName, luetPackageMetadataYaml, luetRepositoryYaml } from "./luet";
import { REPOSITORY_INDEX_MEDIA_TYPE, type IndexPackage, type RepositoryIndex } from "./types";

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
