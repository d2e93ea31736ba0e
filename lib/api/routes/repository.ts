// A flavour's package repository: one numbered revision per successful build, browsed (packages, files, search,
// diffs) and served as files luet and other clients fetch (index.json, repository.yaml, tree, meta, artefacts, SBOM).
import { z } from "zod";
import { idParams, page, pageQuery, positiveInt, route, timestamp, uuid } from "../spec";
import { FileListQuery, FileSearchQuery } from "../../repository/queries";
import { PackageDefinition } from "./flavours";

const NO_FLAVOUR = "No such flavour.";
const revisionParams = z.object({ id: uuid, number: positiveInt });
const NO_REVISION = "No such repository revision.";
/** Category and name are checked by the handler, which says which package it did not find. */
const packageParams = revisionParams.extend({ category: z.string(), name: z.string() });

export const RepositoryFile = z.object({
  path: z.string(),
  type: z.enum(["file", "directory", "symlink", "link"]),
  size: z.number().int(),
  mode: z.number().int().describe("Permission bits (mode & 0o7777)"),
  target: z.string().nullable().optional().describe("Symlink target, or the path a hard link points to"),
  sha256: z.string().nullable().optional().describe('"sha256:<hex>" of a regular file\'s content, when recorded'),
});

const Artefact = z.object({
  digest: z.string().describe('"sha256:<64 hex>" of the compressed bytes; download it from /api/v1/artefacts/{digest}'),
  size: z.number().int(),
  uncompressedSize: z.number().int(),
  compression: z.string(),
  fileCount: z.number().int(),
});

/** A package as the revision's index records it. */
const IndexPackage = z.object({
  category: z.string(),
  name: z.string(),
  version: z.string(),
  description: z.string().default(""),
  requires: z.array(z.string()),
  fromBase: z.boolean(),
  artefact: Artefact.extend({ deleted: z.array(z.string()).default([]).describe("Paths the layer deletes from the packages below it") }),
  cacheKey: z.string().describe("The same key is the same layer in every flavour"),
  cached: z.boolean(),
  buildMs: z.number().nullable(),
  definition: PackageDefinition,
});

export const RevisionSummary = z.object({
  id: z.uuid(),
  number: z.number().int(),
  createdAt: timestamp,
  buildId: z.uuid(),
  version: z.string(),
  imageRef: z.string().nullable(),
  imageDigest: z.string().nullable(),
  reference: z.string().describe("The OCI artifact <registry>/<org>/<flavour>-repo:<number>"),
  manifestDigest: z.string(),
  indexDigest: z.string(),
  packageCount: z.number().int(),
  fileCount: z.number().int(),
  size: z.number().int(),
  uncompressedSize: z.number().int(),
  debianPackageCount: z.number().int(),
});

const RevisionPackage = z.object({
  position: z.number().int(),
  category: z.string(),
  name: z.string(),
  version: z.string(),
  requires: z.array(z.string()),
  fromBase: z.boolean(),
  cacheKey: z.string(),
  cached: z.boolean(),
  buildMs: z.number().nullable(),
  artefact: Artefact,
});

const DebianPackage = z.object({
  name: z.string(),
  architecture: z.string(),
  version: z.string(),
  source: z.string().nullable().optional(),
  sourceVersion: z.string().nullable().optional(),
  license: z.string().nullable().optional(),
  homepage: z.string().nullable().optional(),
});

const RevisionRef = z.object({ id: z.uuid(), number: z.number().int(), createdAt: timestamp, version: z.string(), size: z.number().int(), packageCount: z.number().int() });

const RepositoryDiff = z.object({
  from: RevisionRef,
  to: RevisionRef,
  packages: z.object({
    added: z.array(IndexPackage),
    removed: z.array(IndexPackage),
    changed: z.array(
      z.object({
        key: z.string().describe('"category/name"'),
        from: IndexPackage,
        to: IndexPackage,
        versionChanged: z.boolean(),
        sameArtefact: z.boolean().describe("Same artefact digest: not a byte of the layer changed"),
        sizeDelta: z.number().int(),
        uncompressedSizeDelta: z.number().int(),
        fileCountDelta: z.number().int(),
        files: z
          .object({
            counts: z.object({ added: z.number().int(), removed: z.number().int(), changed: z.number().int() }),
            truncated: z.boolean().describe("The lists stop at 2,000 entries each; the counts are complete"),
            added: z.array(RepositoryFile),
            removed: z.array(RepositoryFile),
            changed: z.array(z.object({ path: z.string(), from: RepositoryFile, to: RepositoryFile, changes: z.array(z.enum(["type", "size", "mode", "target", "content"])) })),
            sizeDelta: z.number().int(),
          })
          .nullable()
          .describe("null when the artefact is the same"),
      }),
    ),
    unchanged: z.number().int(),
    sizeDelta: z.number().int(),
    uncompressedSizeDelta: z.number().int(),
  }),
  debianPackages: z.object({
    added: z.array(DebianPackage),
    removed: z.array(DebianPackage),
    changed: z.array(z.object({ name: z.string(), architecture: z.string(), from: z.string(), to: z.string() })),
  }),
});

const tags = ["repository"];

export const listRevisions = route({
  method: "GET",
  path: "/api/v1/flavours/{id}/repository",
  summary: "The revisions of the flavour's package repository, newest first, a page at a time",
  tags,
  role: "customer",
  params: idParams,
  notFound: NO_FLAVOUR,
  query: pageQuery,
  response: page("revisions", RevisionSummary),
  paginated: true,
  errors: { 400: "A bad cursor or limit", 404: "No such flavour" },
});

export const getRevision = route({
  method: "GET",
  path: "/api/v1/flavours/{id}/repository/{number}",
  summary: "One repository revision: summary, packages in build order, Debian packages",
  tags,
  role: "customer",
  params: revisionParams,
  notFound: NO_REVISION,
  response: z.object({
    flavour: z.object({ id: z.uuid(), name: z.string() }),
    revision: RevisionSummary,
    previous: z.number().int().nullable().describe("The number of the revision before it, if any"),
    packages: z.array(RevisionPackage),
    debianPackages: z.array(DebianPackage),
  }),
});

export const diffRevisions = route({
  method: "GET",
  path: "/api/v1/flavours/{id}/repository/diff",
  summary: "The diff of two revisions of the flavour's repository: packages, files and Debian packages",
  tags,
  role: "customer",
  params: idParams,
  notFound: NO_FLAVOUR,
  query: z.object({
    from: positiveInt.describe("A repository revision number"),
    to: positiveInt.describe("A repository revision number"),
  }),
  response: RepositoryDiff,
});

export const diffRevisionsById = route({
  method: "GET",
  path: "/api/v1/repository/diff",
  summary: "The diff of two repository revisions by id; both must be revisions of one flavour",
  tags,
  role: "customer",
  query: z.object({
    from: z.uuid({ error: "from must be the id of a repository revision" }),
    to: z.uuid({ error: "to must be the id of a repository revision" }),
  }),
  response: RepositoryDiff,
  errors: { 404: "No such repository revision" },
});

export const searchFiles = route({
  method: "GET",
  path: "/api/v1/flavours/{id}/repository/{number}/files",
  summary: "Which package ships this path? Files of the revision whose path contains `q`, a page at a time",
  description: "The path itself first, then files of that name, then the rest in path order. Pass the page's `next` as `after` for the following page.",
  tags,
  role: "customer",
  params: revisionParams,
  notFound: NO_REVISION,
  query: z.object(FileSearchQuery.shape),
  response: z.object({
    matches: z.array(RepositoryFile.extend({ package: z.object({ category: z.string(), name: z.string(), version: z.string() }) })),
    next: z.string().nullable().describe("Pass as `after` for the next page; null on the last"),
  }),
});

export const getPackage = route({
  method: "GET",
  path: "/api/v1/flavours/{id}/repository/{number}/packages/{category}/{name}",
  summary: "One package of a revision: its artefact, definition and requires graph",
  tags,
  role: "customer",
  params: packageParams,
  notFound: NO_REVISION,
  response: z.object({
    flavour: z.object({ id: z.uuid(), name: z.string() }),
    revision: z.object({ id: z.uuid(), number: z.number().int(), reference: z.string(), createdAt: timestamp }),
    package: RevisionPackage.extend({ definition: PackageDefinition, deleted: z.array(z.string()).default([]) }),
    requiredBy: z.array(z.string()),
    graph: z.array(z.object({ id: z.string(), requires: z.array(z.string()) })).describe("Every package of the revision with its requires"),
  }),
});

export const listPackageFiles = route({
  method: "GET",
  path: "/api/v1/flavours/{id}/repository/{number}/packages/{category}/{name}/files",
  summary: "A package's files in path order, `limit` at a time after the path `after`; `q` filters by part of the path",
  tags,
  role: "customer",
  params: packageParams,
  notFound: NO_REVISION,
  query: z.object(FileListQuery.shape),
  response: z.object({
    files: z.array(RepositoryFile),
    total: z.number().int().describe("Files matching `q` (all files without it)"),
    next: z.string().nullable().describe("Pass as `after` for the next page; null on the last"),
  }),
});

const raw = (path: string, summary: string, contentType: string, description: string) =>
  route({ method: "GET", path: `/api/v1/flavours/{id}/repository/{number}/${path}`, summary, tags, role: "customer", params: revisionParams, notFound: NO_REVISION, response: { contentType, description } });

export const packageMetadata = route({
  method: "GET",
  path: "/api/v1/flavours/{id}/repository/{number}/packages/{category}/{name}/metadata.yaml",
  summary: "A package's luet metadata.yaml (its artefact, checksum, compile spec and file list)",
  tags,
  role: "customer",
  params: packageParams,
  notFound: NO_REVISION,
  response: { contentType: "application/yaml", description: "luet's metadata.yaml of the package" },
});

export const indexJson = raw(
  "index.json",
  "The revision's index, byte for byte what the registry holds as the artifact's config (its sha256 is the index digest)",
  "application/json",
  "The repository index",
);
export const repositoryYaml = raw("repository.yaml", "The revision as a luet repository.yaml (this revision's URL is the repository)", "application/yaml", "luet's repository.yaml");
export const treeTarGz = raw("tree.tar.gz", "luet's tree of the revision: one definition.yaml per package", "application/gzip", "The tree file of the repository.yaml");
export const metaTar = raw("repository.meta.yaml.tar", "luet's artifact index of the revision: paths, sha256 and files of every artefact", "application/x-tar", "The meta file of the repository.yaml");
export const sbom = raw("sbom.spdx.json", "An SPDX 2.3 SBOM of the revision: its Debian packages and its Strata packages", "application/spdx+json", "The SPDX 2.3 JSON document");

export const luetArtefact = route({
  method: "GET",
  path: "/api/v1/flavours/{id}/repository/{number}/{file}",
  summary: "An artefact by its luet file name (<name>-<category>-<version>.package.tar.zst), streamed like /api/v1/artefacts/{digest}",
  tags,
  role: "customer",
  params: revisionParams.extend({ file: z.string().describe("<name>-<category>-<version>.package.tar.zst (or .gz), as repository.meta.yaml.tar lists it") }),
  notFound: NO_REVISION,
  response: { contentType: "application/zstd", description: "The artefact's bytes (application/gzip for gzip artefacts); Range gives 206" },
  errors: { 416: "The Range is outside the artefact" },
});
