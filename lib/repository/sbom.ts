// The SPDX 2.3 SBOM of a repository revision: the OS image, the Debian packages installed in it and the Strata packages built into it.
import spdxCorrect from "spdx-correct";
import parseSpdx from "spdx-expression-parse";
import { splitRef } from "../builder/engine/images";
import { packageKey, type DebianPackage, type IndexPackage, type RepositoryIndex } from "./types";

const NOASSERTION = "NOASSERTION";

/**
 * DEP-5 short names that spdx-correct gets wrong or cannot know (it reads "GPL-2+" as
 * GPL-2.0-only and "BSD-4-clause" as BSD-2-Clause). Lower-case keys; GNU licences are handled by
 * pattern below, and "public-domain" has no SPDX identifier, so it is left out on purpose.
 */
const DEP5_NAMES: Record<string, string> = {
  expat: "MIT",
  "bsd-2-clause": "BSD-2-Clause",
  "bsd-3-clause": "BSD-3-Clause",
  "bsd-4-clause": "BSD-4-Clause",
  // DEP-5 defines "Perl" as "Artistic or GPL-1+"; Debian's common-licenses/Artistic is Perl's text.
  perl: "Artistic-1.0-Perl OR GPL-1.0-or-later",
  artistic: "Artistic-1.0-Perl",
  "artistic-1": "Artistic-1.0-Perl",
  cc0: "CC0-1.0",
  "zope-1.1": "ZPL-1.1",
  "zope-2.0": "ZPL-2.0",
  "zope-2.1": "ZPL-2.1",
};

/** DEP-5 "with <keyword> exception" → SPDX exception, per GPL major version where it differs. */
const EXCEPTIONS: Record<string, string | Record<string, string>> = {
  autoconf: { "2": "Autoconf-exception-2.0", "3": "Autoconf-exception-3.0" },
  gcc: { "2": "GCC-exception-2.0", "3": "GCC-exception-3.1" },
  bison: "Bison-exception-2.2",
  classpath: "Classpath-exception-2.0",
  font: "Font-exception-2.0",
  libtool: "Libtool-exception",
};

/** Equal once case and ".0" version parts are ignored: the only changes we let spdx-correct make. */
const looseName = (id: string) => id.toLowerCase().replace(/\.0(?=$|[^0-9])/g, "");

const isCompound = (spdx: string) => / (AND|OR) /.test(spdx);

/** One DEP-5 short name (maybe with "+") as an SPDX license id (or, for "Perl", an expression); undefined if unknown. */
function spdxLicenseId(shortName: string): string | undefined {
  const gnu = /^(AGPL|LGPL|GPL|GFDL-NIV|GFDL)-(\d+(?:\.\d+)?)(\+?)$/i.exec(shortName);
  if (gnu) {
    const [, family, version, plus] = gnu;
    const full = version.includes(".") ? version : `${version}.0`;
    const suffix = plus ? "or-later" : "only";
    const upper = family.toUpperCase();
    return upper === "GFDL-NIV" ? `GFDL-${full}-no-invariants-${suffix}` : `${upper}-${full}-${suffix}`;
  }
  const plus = shortName.endsWith("+");
  const base = plus ? shortName.slice(0, -1) : shortName;
  let id = DEP5_NAMES[base.toLowerCase()];
  if (!id) {
    const corrected = spdxCorrect(base, { upgrade: true });
    if (!corrected || looseName(corrected) !== looseName(base)) return undefined;
    id = corrected;
  }
  if (!plus) return id;
  return isCompound(id) ? undefined : `${id}+`;
}

function spdxException(license: string, keywords: string): string | undefined {
  const known = EXCEPTIONS[keywords.toLowerCase()];
  if (typeof known !== "object") return known;
  const major = /^[AL]?GPL-(\d+)/i.exec(license)?.[1];
  return major ? known[major] : undefined;
}

type Token = { kind: "(" | ")" | "," | "and" | "or" | "with" | "name"; text: string };

function tokenize(text: string): Token[] {
  return [...text.matchAll(/[(),]|[^\s(),]+/g)].map(([t]) => {
    const word = t.toLowerCase();
    if (t === "(" || t === ")" || t === ",") return { kind: t, text: t };
    if (word === "and" || word === "or" || word === "with") return { kind: word, text: t };
    return { kind: "name", text: t };
  });
}

/** An SPDX expression and whether it needs parentheses when it is an operand. */
type Expr = { text: string; compound: boolean };
const operand = (e: Expr) => (e.compound ? `(${e.text})` : e.text);

class NotConvertible extends Error {}

/**
 * DEP-5 license syntax → SPDX. "and" binds tighter than "or", as in SPDX; a comma starts a new
 * group at lower precedence ("A or B, and C" is (A OR B) AND C); "X with Y exception" is an
 * exception. Parentheses are accepted too, as licenseFromCopyright writes them when it joins.
 */
function parseDep5(tokens: Token[]): Expr {
  let at = 0;
  const peek = () => tokens[at];
  const take = (kind: Token["kind"]) => {
    if (peek()?.kind !== kind) throw new NotConvertible(`expected ${kind}`);
    return tokens[at++];
  };
  const binary = (ops: Expr[], op: string): Expr =>
    ops.length === 1 ? ops[0] : { text: ops.map(operand).join(` ${op} `), compound: true };

  const primary = (): Expr => {
    if (peek()?.kind === "(") {
      take("(");
      const inner = list();
      take(")");
      return inner;
    }
    const name = take("name").text;
    const id = spdxLicenseId(name);
    if (!id) throw new NotConvertible(name);
    if (peek()?.kind !== "with") return { text: id, compound: isCompound(id) };
    take("with");
    const words: string[] = [];
    while (peek()?.kind === "name" && peek().text.toLowerCase() !== "exception") words.push(take("name").text);
    take("name");
    const exception = spdxException(id, words.join(" "));
    if (!exception || isCompound(id)) throw new NotConvertible(`${name} with ${words.join(" ")} exception`);
    return { text: `${id} WITH ${exception}`, compound: false };
  };
  const and = (): Expr => {
    const ops = [primary()];
    while (peek()?.kind === "and") ops.push((take("and"), primary()));
    return binary(ops, "AND");
  };
  const or = (): Expr => {
    const ops = [and()];
    while (peek()?.kind === "or") ops.push((take("or"), and()));
    return binary(ops, "OR");
  };
  const list = (): Expr => {
    let left = or();
    while (peek()?.kind === ",") {
      take(",");
      const op = peek()?.kind;
      if (op !== "and" && op !== "or") throw new NotConvertible("a comma must be followed by and/or");
      take(op);
      left = { text: `${operand(left)} ${op.toUpperCase()} ${operand(or())}`, compound: true };
    }
    return left;
  };

  const result = list();
  if (at !== tokens.length) throw new NotConvertible(`unexpected ${peek().text}`);
  return result;
}

/**
 * A Debian licence statement (DEP-5 short names, e.g. "GPL-2+ or Artistic") as a valid SPDX
 * license expression, or undefined when any part has no SPDX identifier ("public-domain",
 * "other", an unknown exception): a wrong licence in an SBOM is worse than NOASSERTION.
 */
export function spdxLicenseExpression(debian: string): string | undefined {
  const tokens = tokenize(debian.trim());
  if (tokens.length === 0) return undefined;
  try {
    const { text } = parseDep5(tokens);
    // The final word on validity: every id and exception must be on the SPDX lists.
    parseSpdx(text);
    return text;
  } catch {
    return undefined;
  }
}

/** SPDXIDs allow only letters, digits, "." and "-"; the index suffix keeps sanitised names unique. */
const spdxId = (kind: string, name: string, index: number) => `SPDXRef-${kind}-${name.replace(/[^A-Za-z0-9.-]+/g, "-")}-${index}`;

/** Percent-encodes a purl component, keeping the characters the purl spec lets stand ("/" and ":" in qualifier values). */
const purlQualifier = (value: string) => encodeURIComponent(value).replace(/%2F/gi, "/").replace(/%3A/gi, ":");

/**
 * Written by hand, not with packageurl-js: it leaves ":" and "+" of a version unencoded, while we
 * percent-encode them ("1%3A2.3-4%2Bdeb12u1"), the form syft writes, so our purls compare equal as
 * text with those in other SBOMs of the same image.
 */
export function debianPurl(pkg: DebianPackage): string {
  const name = encodeURIComponent(pkg.name);
  const version = encodeURIComponent(pkg.version);
  return `pkg:deb/debian/${name}@${version}?arch=${encodeURIComponent(pkg.architecture)}&distro=debian-12`;
}

/** `pkg:oci/<name>@sha256%3A<hex>?repository_url=<registry/repository>` for the image as pushed. */
export function imagePurl(flavour: string, image: { reference: string; digest: string }): string {
  const withoutDigest = image.reference.split("@", 1)[0];
  const [repository] = splitRef(withoutDigest);
  return `pkg:oci/${encodeURIComponent(flavour.toLowerCase())}@${encodeURIComponent(image.digest)}?repository_url=${purlQualifier(repository)}`;
}

/** "YYYY-MM-DDThh:mm:ssZ": SPDX wants UTC to the second. */
const spdxDate = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, "Z");

const hex = (digest: string) => digest.replace(/^sha256:/, "");

/** An http(s) URL, else undefined: SPDX tools reject a homepage that is not one. */
function homepageUrl(text: string | undefined): string | undefined {
  if (!text) return undefined;
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : undefined;
  } catch {
    return undefined;
  }
}

function debianSpdxPackage(pkg: DebianPackage, id: string) {
  const declared = pkg.license ? spdxLicenseExpression(pkg.license) : undefined;
  const homepage = homepageUrl(pkg.homepage);
  return {
    SPDXID: id,
    name: pkg.name,
    versionInfo: pkg.version,
    supplier: NOASSERTION,
    downloadLocation: NOASSERTION,
    filesAnalyzed: false,
    ...(homepage ? { homepage } : {}),
    // dpkg leaves Source out when it is the binary package's own name and version.
    sourceInfo: `built package from: ${pkg.source ?? pkg.name} ${pkg.sourceVersion ?? pkg.version}`,
    licenseConcluded: NOASSERTION,
    licenseDeclared: declared ?? NOASSERTION,
    ...(pkg.license
      ? {
          licenseComments: declared
            ? `From /usr/share/doc/${pkg.name}/copyright: ${pkg.license}`
            : `From /usr/share/doc/${pkg.name}/copyright: ${pkg.license} (no SPDX license expression for it)`,
        }
      : {}),
    copyrightText: NOASSERTION,
    externalRefs: [{ referenceCategory: "PACKAGE-MANAGER", referenceType: "purl", referenceLocator: debianPurl(pkg) }],
  };
}

function strataSpdxPackage(pkg: IndexPackage, id: string) {
  return {
    SPDXID: id,
    name: packageKey(pkg),
    versionInfo: pkg.version,
    downloadLocation: NOASSERTION,
    filesAnalyzed: false,
    ...(pkg.description ? { description: pkg.description } : {}),
    // The checksum is of the package's artefact: the compressed tar of the files its layer added.
    checksums: [{ algorithm: "SHA256", checksumValue: hex(pkg.artefact.digest) }],
    licenseConcluded: NOASSERTION,
    licenseDeclared: NOASSERTION,
    copyrightText: NOASSERTION,
    comment: `Strata ${pkg.fromBase ? "base" : "layer"} package; cache key ${pkg.cacheKey}; artefact ${pkg.artefact.digest} (${pkg.artefact.compression} tar)`,
  };
}

/**
 * The SPDX 2.3 JSON document of a revision. `created` defaults to the revision's creation time, so
 * the same revision always gives the same bytes (the document is derived from the index alone).
 * `namespaceBase` is an absolute URI (the portal's origin); the build id makes the namespace unique.
 */
export function spdxDocument(index: RepositoryIndex, opts: { namespaceBase: string; created?: Date }): object {
  const base = opts.namespaceBase.replace(/\/+$/, "");
  if (!URL.canParse(base) || base.includes("#")) throw new Error(`namespaceBase must be an absolute URI without a fragment: ${opts.namespaceBase}`);
  const indexCreated = new Date(index.createdAt);
  const created = opts.created ?? (Number.isNaN(indexCreated.getTime()) ? new Date() : indexCreated);
  const segment = encodeURIComponent;

  const imageId = `SPDXRef-Image-${index.flavour.replace(/[^A-Za-z0-9.-]+/g, "-")}`;
  const image = {
    SPDXID: imageId,
    name: index.flavour,
    versionInfo: index.build.version,
    supplier: `Organization: ${index.org}`,
    downloadLocation: NOASSERTION,
    filesAnalyzed: false,
    primaryPackagePurpose: "CONTAINER",
    licenseConcluded: NOASSERTION,
    licenseDeclared: NOASSERTION,
    copyrightText: NOASSERTION,
    comment: `OS image ${index.build.image.reference}, built from ${index.baseManifest}`,
    externalRefs: [{ referenceCategory: "PACKAGE-MANAGER", referenceType: "purl", referenceLocator: imagePurl(index.flavour, index.build.image) }],
  };

  const debian = index.debianPackages.map((pkg, i) => debianSpdxPackage(pkg, spdxId("deb", `${pkg.name}-${pkg.architecture}`, i)));
  const strata = index.packages.map((pkg, i) => strataSpdxPackage(pkg, spdxId("strata", `${pkg.category}-${pkg.name}`, i)));
  const strataIds = new Map(index.packages.map((pkg, i) => [packageKey(pkg), strata[i].SPDXID]));

  const relationships = [
    { spdxElementId: "SPDXRef-DOCUMENT", relationshipType: "DESCRIBES", relatedSpdxElement: imageId },
    ...[...debian, ...strata].map((p) => ({ spdxElementId: imageId, relationshipType: "CONTAINS", relatedSpdxElement: p.SPDXID })),
    // A layer is built on the packages it requires; a required one missing from the index is not invented.
    ...index.packages.flatMap((pkg, i) =>
      pkg.requires
        .filter((key) => strataIds.has(key))
        .map((key) => ({ spdxElementId: strata[i].SPDXID, relationshipType: "DEPENDS_ON", relatedSpdxElement: strataIds.get(key)! })),
    ),
  ];

  return {
    spdxVersion: "SPDX-2.3",
    dataLicense: "CC0-1.0",
    SPDXID: "SPDXRef-DOCUMENT",
    name: `${index.org}/${index.flavour} repository revision ${index.revision}`,
    documentNamespace: `${base}/${segment(index.org)}/${segment(index.flavour)}/repository/${index.revision}-${segment(index.build.id)}`,
    creationInfo: { created: spdxDate(created), creators: ["Tool: strata", `Organization: ${index.org}`] },
    documentDescribes: [imageId],
    packages: [image, ...debian, ...strata],
    relationships,
  };
}
