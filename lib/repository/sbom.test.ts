import { readFileSync } from "node:fs";
import Ajv from "ajv";
import parseSpdx from "spdx-expression-parse";
import { describe, expect, it } from "vitest";
import type { PackageDefinition } from "../manifest/schema";
import { debianPurl, spdxDocument, spdxLicenseExpression } from "./sbom";
import { REPOSITORY_INDEX_MEDIA_TYPE, type IndexPackage, type RepositoryIndex } from "./types";

// The official SPDX 2.3 JSON schema: schemas/spdx-schema.json of github.com/spdx/spdx-spec at tag v2.3 (draft-07).
const schema = JSON.parse(readFileSync(new URL("./testdata/spdx-2.3.schema.json", import.meta.url), "utf8"));
const validate = new Ajv({ allErrors: true }).compile(schema);

const HEX = "a".repeat(64);
const IMAGE_HEX = "0123456789abcdef".repeat(4);

function definition(category: string, name: string, requires: string[] = []): PackageDefinition {
  return { category, name, version: "1", description: `${name} for the kiosk`, requires, steps: ["apt-get install -y nginx"], files: [], includes: [], excludes: [] };
}

function strataPackage(category: string, name: string, requires: string[] = [], fromBase = false): IndexPackage {
  return {
    category,
    name,
    version: "1",
    description: `${name} for the kiosk`,
    requires,
    fromBase,
    artefact: { digest: `sha256:${HEX}`, size: 1024, uncompressedSize: 4096, compression: "zstd", fileCount: 3, deleted: [] },
    cacheKey: "f".repeat(64),
    cached: false,
    buildMs: 1200,
    definition: definition(category, name, requires),
  };
}

const index: RepositoryIndex = {
  schemaVersion: 1,
  mediaType: REPOSITORY_INDEX_MEDIA_TYPE,
  org: "acme",
  flavour: "kiosk",
  revision: 7,
  createdAt: "2026-11-30T10:20:30.456Z",
  baseManifest: "strata-base 2",
  build: {
    id: "b_01HZX",
    version: "r3.2",
    flavourRevision: 3,
    image: { reference: "localhost:5000/acme/kiosk:r3.2", digest: `sha256:${IMAGE_HEX}`, size: 123456 },
  },
  packages: [strataPackage("base", "system", [], true), strataPackage("web", "nginx-conf", ["base/system"])],
  debianPackages: [
    { name: "bash", version: "5.2.15-2+b2", architecture: "amd64", source: "bash", sourceVersion: "5.2.15-2", license: "GPL-3+" },
    // Two names that sanitise to the same SPDXID stem ("+" is not allowed there).
    { name: "g++", version: "4:12.2.0-3", architecture: "amd64", source: "gcc-defaults", sourceVersion: "1.203", license: "GPL-2+" },
    { name: "g--", version: "1.0-1", architecture: "amd64" },
    { name: "libc6", version: "2.36-9+deb12u4", architecture: "amd64", source: "glibc", license: "LGPL-2.1+ AND (GPL-2+ or BSD-3-clause)", homepage: "https://www.gnu.org/software/libc/libc.html" },
    { name: "libc6", version: "2.36-9+deb12u4", architecture: "i386", source: "glibc", license: "LGPL-2.1+" },
    { name: "tzdata", version: "2024a-0+deb12u1", architecture: "all", license: "public-domain" },
  ],
  totals: { packages: 2, size: 2048, uncompressedSize: 8192, fileCount: 6 },
};

type SpdxPackage = Record<string, unknown> & { SPDXID: string; name: string; externalRefs?: Array<{ referenceLocator: string }> };
type SpdxDoc = {
  SPDXID: string;
  documentNamespace: string;
  documentDescribes: string[];
  creationInfo: { created: string; creators: string[] };
  packages: SpdxPackage[];
  relationships: Array<{ spdxElementId: string; relationshipType: string; relatedSpdxElement: string }>;
};

const doc = spdxDocument(index, { namespaceBase: "https://strata.example.com/spdx/" }) as SpdxDoc;
const byName = (name: string, i = 0) => doc.packages.filter((p) => p.name === name)[i];

describe("spdxDocument", () => {
  it("is valid against the SPDX 2.3 JSON schema", () => {
    const valid = validate(doc);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it("would be caught by the schema if a relationship type were wrong", () => {
    const broken = structuredClone(doc);
    broken.relationships[0].relationshipType = "INCLUDES";
    expect(validate(broken)).toBe(false);
  });

  it("has unique, well-formed SPDXIDs and relationships between existing elements", () => {
    const ids = [doc.SPDXID, ...doc.packages.map((p) => p.SPDXID)];
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^SPDXRef-[A-Za-z0-9.-]+$/);
    const known = new Set(ids);
    for (const r of doc.relationships) {
      expect(known).toContain(r.spdxElementId);
      expect(known).toContain(r.relatedSpdxElement);
    }
    const image = byName("kiosk");
    expect(doc.documentDescribes).toEqual([image.SPDXID]);
    expect(doc.relationships).toContainEqual({ spdxElementId: "SPDXRef-DOCUMENT", relationshipType: "DESCRIBES", relatedSpdxElement: image.SPDXID });
    const contained = doc.relationships.filter((r) => r.relationshipType === "CONTAINS" && r.spdxElementId === image.SPDXID);
    expect(contained).toHaveLength(index.debianPackages.length + index.packages.length);
    expect(doc.relationships).toContainEqual({
      spdxElementId: byName("web/nginx-conf").SPDXID,
      relationshipType: "DEPENDS_ON",
      relatedSpdxElement: byName("base/system").SPDXID,
    });
  });

  it("names the revision with a unique namespace and a creation time to the second", () => {
    expect(doc).toMatchObject({
      spdxVersion: "SPDX-2.3",
      dataLicense: "CC0-1.0",
      name: "acme/kiosk repository revision 7",
      documentNamespace: "https://strata.example.com/spdx/acme/kiosk/repository/7-b_01HZX",
      creationInfo: { created: "2026-11-30T10:20:30Z", creators: ["Tool: strata", "Organization: acme"] },
    });
    const later = spdxDocument(index, { namespaceBase: "https://strata.example.com/spdx", created: new Date("2027-01-02T03:04:05.999Z") }) as SpdxDoc;
    expect(later.creationInfo.created).toBe("2027-01-02T03:04:05Z");
    expect(() => spdxDocument(index, { namespaceBase: "not a uri" })).toThrow(/namespaceBase/);
  });

  it("identifies the image by digest and repository, without the tag", () => {
    expect(byName("kiosk")).toMatchObject({
      versionInfo: "r3.2",
      downloadLocation: "NOASSERTION",
      externalRefs: [
        {
          referenceCategory: "PACKAGE-MANAGER",
          referenceType: "purl",
          referenceLocator: `pkg:oci/kiosk@sha256%3A${IMAGE_HEX}?repository_url=localhost:5000/acme/kiosk`,
        },
      ],
    });
  });

  it("gives Debian packages encoded purls, source info and SPDX licences", () => {
    const gxx = byName("g++");
    expect(gxx.externalRefs![0].referenceLocator).toBe("pkg:deb/debian/g%2B%2B@4%3A12.2.0-3?arch=amd64&distro=debian-12");
    expect(gxx).toMatchObject({ licenseDeclared: "GPL-2.0-or-later", licenseConcluded: "NOASSERTION", filesAnalyzed: false, sourceInfo: "built package from: gcc-defaults 1.203" });
    expect(byName("bash").externalRefs![0].referenceLocator).toBe("pkg:deb/debian/bash@5.2.15-2%2Bb2?arch=amd64&distro=debian-12");
    expect(byName("libc6", 1).externalRefs![0].referenceLocator).toBe("pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=i386&distro=debian-12");
    expect(byName("libc6")).toMatchObject({
      licenseDeclared: "LGPL-2.1-or-later AND (GPL-2.0-or-later OR BSD-3-Clause)",
      homepage: "https://www.gnu.org/software/libc/libc.html",
      // No Source version: dpkg means the binary's own.
      sourceInfo: "built package from: glibc 2.36-9+deb12u4",
    });
    expect(byName("tzdata")).toMatchObject({ licenseDeclared: "NOASSERTION", licenseComments: expect.stringContaining("public-domain") });
    expect(byName("g--")).toMatchObject({ licenseDeclared: "NOASSERTION", sourceInfo: "built package from: g-- 1.0-1" });
    expect(byName("g--")).not.toHaveProperty("licenseComments");
    for (const p of doc.packages) {
      const declared = p.licenseDeclared as string;
      if (declared !== "NOASSERTION") expect(() => parseSpdx(declared)).not.toThrow();
    }
  });

  it("gives Strata packages their artefact checksum and cache key", () => {
    expect(byName("web/nginx-conf")).toMatchObject({
      versionInfo: "1",
      downloadLocation: "NOASSERTION",
      filesAnalyzed: false,
      checksums: [{ algorithm: "SHA256", checksumValue: HEX }],
      licenseDeclared: "NOASSERTION",
      comment: expect.stringContaining(`cache key ${"f".repeat(64)}`),
    });
  });
});

describe("spdxLicenseExpression", () => {
  it.each([
    ["GPL-2+", "GPL-2.0-or-later"],
    ["GPL-2", "GPL-2.0-only"],
    ["LGPL-2.1+", "LGPL-2.1-or-later"],
    ["LGPL-2+", "LGPL-2.0-or-later"],
    ["BSD-3-clause", "BSD-3-Clause"],
    ["BSD-4-clause", "BSD-4-Clause"],
    ["Expat", "MIT"],
    ["zlib", "Zlib"],
    ["MPL-2", "MPL-2.0"],
    ["GFDL-NIV-1.3+", "GFDL-1.3-no-invariants-or-later"],
    ["Perl", "Artistic-1.0-Perl OR GPL-1.0-or-later"],
    ["GPL-2+ or Artistic-2.0, and BSD-3-clause", "(GPL-2.0-or-later OR Artistic-2.0) AND BSD-3-Clause"],
    ["BSD-3-clause, and GPL-2+ or LGPL-2.1+", "BSD-3-Clause AND (GPL-2.0-or-later OR LGPL-2.1-or-later)"],
    ["GPL-3+ with Autoconf exception", "GPL-3.0-or-later WITH Autoconf-exception-3.0"],
  ])("converts %s to %s", (debian, spdx) => {
    expect(spdxLicenseExpression(debian)).toBe(spdx);
  });

  it.each(["public-domain", "other", "GPL-2+ and public-domain", "GPL-2+ with OpenSSL exception", "MIT/X11", "GPL", "GPL-2+ or", ""])(
    "gives no expression for %j rather than a guess",
    (debian) => {
      expect(spdxLicenseExpression(debian)).toBeUndefined();
    },
  );
});

it("encodes the epoch and '+' of a Debian version in the purl", () => {
  expect(debianPurl({ name: "libgcc-s1", version: "1:12.2.0-14+deb12u1", architecture: "amd64" })).toBe(
    "pkg:deb/debian/libgcc-s1@1%3A12.2.0-14%2Bdeb12u1?arch=amd64&distro=debian-12",
  );
});
