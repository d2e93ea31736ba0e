// The shapes of a repository revision: what a build publishes about every package it contains, as the index (the
// OCI artifact's config) and as the rows the portal reads.
import type { ArtefactFileType } from "../builder/extract/filter";
import type { PackageDefinition } from "../manifest/schema";

/** Media types of the OCI artifact `<org>/<flavour>-repo:<n>`. */
export const REPOSITORY_ARTIFACT_TYPE = "application/vnd.strata.repository.v1";
export const REPOSITORY_INDEX_MEDIA_TYPE = "application/vnd.strata.repository.index.v1+json";
export const PACKAGE_MEDIA_TYPES = {
  zstd: "application/vnd.strata.package.v1.tar+zstd",
  gzip: "application/vnd.strata.package.v1.tar+gzip",
} as const;

export type ArtefactCompression = keyof typeof PACKAGE_MEDIA_TYPES;

/** One package's artefact: the compressed tar of the files its layer added. */
export interface IndexArtefact {
  /** "sha256:<64 hex>" of the compressed bytes; the blob's name in the registry and the local store. */
  digest: string;
  /** Compressed bytes. */
  size: number;
  /** Bytes of the tar inside. */
  uncompressedSize: number;
  compression: ArtefactCompression;
  /** Entries that are not directories. */
  fileCount: number;
  /** Paths the layer deletes from the packages below it ("dir/" = the directory's earlier content). */
  deleted: string[];
}

export interface IndexPackage {
  category: string;
  name: string;
  version: string;
  description: string;
  /** "category/name" of packages earlier in the revision. */
  requires: string[];
  /** From the base manifest (true) or one of the customer's layers (false). */
  fromBase: boolean;
  artefact: IndexArtefact;
  /** sha256(parent key + canonical definition): the same key is the same layer in every flavour. */
  cacheKey: string;
  /** Reused from the cache (true) or built by this build (false). */
  cached: boolean;
  /** Time this build spent on the package (a cached one: the lookup and extraction only); null when not recorded. */
  buildMs: number | null;
  /** The definition it was built from (steps, overlay files, includes/excludes). */
  definition: PackageDefinition;
}

/** A Debian package installed in the image, from its /var/lib/dpkg/status at build time. */
export interface DebianPackage {
  name: string;
  version: string;
  architecture: string;
  /** Source package name, when it differs from the binary name (dpkg's `Source:` field). */
  source?: string;
  /** Source version, when dpkg's `Source:` field names one ("src (1.2-3)"). */
  sourceVersion?: string;
  /** The licence as the package's machine-readable copyright file states it (DEP-5 `License:` short names), if it has one. */
  license?: string;
  homepage?: string;
}

/** The index of one repository revision. Its exact bytes are the artifact's config; their sha256 is the index digest. */
export interface RepositoryIndex {
  schemaVersion: 1;
  mediaType: typeof REPOSITORY_INDEX_MEDIA_TYPE;
  org: string;
  flavour: string;
  /** Numbered per flavour, from 1. */
  revision: number;
  createdAt: string;
  /** e.g. "strata-base 2". */
  baseManifest: string;
  build: {
    id: string;
    /** r<flavour revision>.<n>, the image tag. */
    version: string;
    flavourRevision: number;
    image: { reference: string; digest: string; size: number };
  };
  /** In build order. */
  packages: IndexPackage[];
  /** Sorted by name, then architecture. Empty when the image has no dpkg database. */
  debianPackages: DebianPackage[];
  totals: { packages: number; size: number; uncompressedSize: number; fileCount: number };
}

/** One file of an artefact as the portal lists, searches and diffs it. */
export interface RepositoryFile {
  path: string;
  type: ArtefactFileType;
  size: number;
  /** Permission bits (mode & 0o7777). */
  mode: number;
  /** Symlink target, or the absolute path a hard link points to. */
  target?: string | null;
  /** "sha256:<hex>" of a regular file's content, when the builder recorded it (artefacts extracted before it did have none). */
  sha256?: string | null;
}

export const packageKey = (p: { category: string; name: string }) => `${p.category}/${p.name}`;
