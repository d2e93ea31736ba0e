// The index of a repository revision: built from what the build recorded (no layer is read again), serialised once;
// those exact bytes are the OCI artifact's config, stored and served as they are, and their sha256 is the index digest.
import { createHash } from "node:crypto";
import type { PackageDefinition } from "../manifest/schema";
import { REPOSITORY_INDEX_MEDIA_TYPE, type DebianPackage, type IndexArtefact, type IndexPackage, type RepositoryIndex } from "./types";

export interface RecordedPackage {
  definition: PackageDefinition;
  fromBase: boolean;
  cacheKey: string;
  cached: boolean;
  buildMs: number | null;
  artefact: IndexArtefact;
}

export interface IndexInput {
  org: string;
  flavour: string;
  revision: number;
  createdAt: Date;
  baseManifest: string;
  build: RepositoryIndex["build"];
  packages: readonly RecordedPackage[];
  debianPackages: readonly DebianPackage[];
}

export function repositoryIndex(input: IndexInput): RepositoryIndex {
  const packages: IndexPackage[] = input.packages.map((p) => ({
    category: p.definition.category,
    name: p.definition.name,
    version: p.definition.version,
    description: p.definition.description ?? "",
    requires: [...(p.definition.requires ?? [])],
    fromBase: p.fromBase,
    artefact: {
      digest: p.artefact.digest,
      size: p.artefact.size,
      uncompressedSize: p.artefact.uncompressedSize,
      compression: p.artefact.compression,
      fileCount: p.artefact.fileCount,
      deleted: [...p.artefact.deleted],
    },
    cacheKey: p.cacheKey,
    cached: p.cached,
    buildMs: p.buildMs,
    definition: p.definition,
  }));
  const debianPackages = [...input.debianPackages].sort((a, b) => (a.name === b.name ? a.architecture.localeCompare(b.architecture) : a.name < b.name ? -1 : 1));
  return {
    schemaVersion: 1,
    mediaType: REPOSITORY_INDEX_MEDIA_TYPE,
    org: input.org,
    flavour: input.flavour,
    revision: input.revision,
    createdAt: input.createdAt.toISOString(),
    baseManifest: input.baseManifest,
    build: input.build,
    packages,
    debianPackages,
    totals: {
      packages: packages.length,
      size: packages.reduce((sum, p) => sum + p.artefact.size, 0),
      uncompressedSize: packages.reduce((sum, p) => sum + p.artefact.uncompressedSize, 0),
      fileCount: packages.reduce((sum, p) => sum + p.artefact.fileCount, 0),
    },
  };
}

/** The bytes of an index (indented: people download and read it) and their digest. */
export function serialiseIndex(index: RepositoryIndex): { bytes: Buffer; digest: string } {
  const bytes = Buffer.from(`${JSON.stringify(index, null, 2)}\n`);
  return { bytes, digest: `sha256:${createHash("sha256").update(bytes).digest("hex")}` };
}

/** Reads stored index bytes back (they were written by serialiseIndex). */
export const parseIndex = (text: string) => JSON.parse(text) as RepositoryIndex;
