import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { parseIndex, repositoryIndex, serialiseIndex, type IndexInput } from "./index-doc";
import { artifactManifest, repositoryName } from "./publish";
import { REPOSITORY_INDEX_MEDIA_TYPE } from "./types";

const definition = (category: string, name: string, version: string, requires: string[] = []) => ({
  category,
  name,
  version,
  description: `${name} package`,
  requires,
  steps: [`echo ${name}`],
  files: [],
  includes: [],
  excludes: ["^/var/cache/"],
});
const digest = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;

const input = (): IndexInput => ({
  org: "acme",
  flavour: "kiosk",
  revision: 3,
  createdAt: new Date("2026-12-01T10:00:00.000Z"),
  baseManifest: "strata-base 2",
  build: { id: "b1", version: "r4.2", flavourRevision: 4, image: { reference: "registry.example/acme/kiosk:r4.2", digest: digest(9), size: 1234 } },
  packages: [
    { definition: definition("system", "base", "1"), fromBase: true, cacheKey: "k1", cached: true, buildMs: 12, artefact: { digest: digest(1), size: 100, uncompressedSize: 400, compression: "zstd", fileCount: 10, deleted: [] } },
    { definition: definition("layer", "motd", "1:2.0+b1", ["system/base"]), fromBase: false, cacheKey: "k2", cached: false, buildMs: 3400, artefact: { digest: digest(2), size: 50, uncompressedSize: 200, compression: "zstd", fileCount: 1, deleted: ["/etc/issue"] } },
  ],
  debianPackages: [
    { name: "zlib1g", version: "1:1.2.13", architecture: "amd64" },
    { name: "libc6", version: "2.36-9", architecture: "i386" },
    { name: "libc6", version: "2.36-9", architecture: "amd64", license: "LGPL-2.1+" },
  ],
});

describe("the repository index", () => {
  it("lists every package in build order with what the build recorded, and totals", () => {
    const index = repositoryIndex(input());
    expect(index).toMatchObject({ schemaVersion: 1, mediaType: REPOSITORY_INDEX_MEDIA_TYPE, org: "acme", flavour: "kiosk", revision: 3, createdAt: "2026-12-01T10:00:00.000Z" });
    expect(index.packages.map((p) => [p.category, p.name, p.version, p.fromBase, p.cached, p.buildMs])).toEqual([
      ["system", "base", "1", true, true, 12],
      ["layer", "motd", "1:2.0+b1", false, false, 3400],
    ]);
    expect(index.packages[1]).toMatchObject({ requires: ["system/base"], description: "motd package", cacheKey: "k2", artefact: { digest: digest(2), deleted: ["/etc/issue"] } });
    expect(index.packages[1].definition.steps).toEqual(["echo motd"]);
    expect(index.totals).toEqual({ packages: 2, size: 150, uncompressedSize: 600, fileCount: 11 });
  });

  it("sorts Debian packages by name, then architecture", () => {
    expect(repositoryIndex(input()).debianPackages.map((d) => `${d.name}:${d.architecture}`)).toEqual(["libc6:amd64", "libc6:i386", "zlib1g:amd64"]);
  });

  it("serialises to bytes whose sha256 is the digest, and reads back equal", () => {
    const index = repositoryIndex(input());
    const { bytes, digest: indexDigest } = serialiseIndex(index);
    expect(indexDigest).toBe(`sha256:${createHash("sha256").update(bytes).digest("hex")}`);
    expect(parseIndex(bytes.toString("utf8"))).toEqual(index);
    // The same input gives the same bytes: a revision's digest does not depend on when it is asked for.
    expect(serialiseIndex(repositoryIndex(input())).digest).toBe(indexDigest);
  });
});

describe("the OCI artifact manifest", () => {
  it("has the index as config and one annotated layer per artefact", () => {
    const index = repositoryIndex(input());
    const manifest = artifactManifest(index, { digest: digest(7), size: 999 });
    expect(manifest).toMatchObject({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      artifactType: "application/vnd.strata.repository.v1",
      config: { mediaType: REPOSITORY_INDEX_MEDIA_TYPE, digest: digest(7), size: 999 },
    });
    expect(manifest.layers.map((l) => [l.mediaType, l.digest, l.size])).toEqual([
      ["application/vnd.strata.package.v1.tar+zstd", digest(1), 100],
      ["application/vnd.strata.package.v1.tar+zstd", digest(2), 50],
    ]);
    expect(manifest.layers[1].annotations).toEqual({
      "org.opencontainers.image.title": "motd-layer-1:2.0+b1.package.tar.zst",
      "io.strata.package": "layer/motd",
      "io.strata.version": "1:2.0+b1",
      "io.strata.cache-key": "k2",
      "io.strata.uncompressed-size": "200",
      "io.strata.file-count": "1",
      "io.strata.from-base": "false",
    });
    expect(manifest.annotations["io.strata.image"]).toBe(`registry.example/acme/kiosk:r4.2@${digest(9)}`);
    // Every annotation value is a string, as the OCI spec requires.
    for (const value of [...Object.values(manifest.annotations), ...manifest.layers.flatMap((l) => Object.values(l.annotations))]) expect(typeof value).toBe("string");
  });

  it("lives next to the image, in <image repository>-repo (<org>/<flavour>-repo until a rename)", () => {
    expect(repositoryName("acme/kiosk")).toBe("acme/kiosk-repo");
  });
});
