// Publishing a repository revision: the package artefacts as blobs and the index as the config of an OCI artifact
// `<image repository>-repo:<n>`, through the one registry client; then the revision's rows, in the caller's transaction
// (the one that marks the build succeeded), so a crash in between leaves no half revision.
import { and, desc, eq, inArray, isNull, sql } from "drizzle-orm";
import type { DbOrTx } from "../db";
import { artefacts, flavours, repositoryDebianPackages, repositoryPackages, repositoryRevisions, type RepositoryRevisionRow } from "../db/schema";
import { silentLogger, type Logger } from "../log";
import type { RegistryClient } from "../registry/client";
import type { ArtefactStore } from "../builder/artefact-store";
import { luetArtefactFileName } from "./luet";
import { debianPackageKey } from "./dpkg";
import { repositoryIndex, serialiseIndex, type RecordedPackage } from "./index-doc";
import { PACKAGE_MEDIA_TYPES, REPOSITORY_ARTIFACT_TYPE, REPOSITORY_INDEX_MEDIA_TYPE, packageKey, type DebianPackage, type RepositoryIndex } from "./types";

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
/** Blobs uploaded at once: enough to overlap round trips, few enough not to starve the build's other traffic. */
const PARALLEL_UPLOADS = 4;

/**
 * "<image repository>-repo" (`<org>/<flavour>-repo` for a flavour never renamed): the registry repository of a flavour's
 * repository revisions, beside its images and, like them, kept through a rename.
 */
export const repositoryName = (imageRepository: string) => `${imageRepository}-repo`;

async function inParallel<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  });
  await Promise.all(lanes);
}

export interface PushArtefactsInput {
  db: DbOrTx;
  registry: RegistryClient;
  store: ArtefactStore;
  repository: string;
  artefacts: ReadonlyArray<{ digest: string; size: number }>;
  onProgress?: (detail: string) => void;
  log?: Logger;
}

/**
 * Makes the registry repository hold every artefact blob: nothing when it has it, a mount when another repository
 * does (another flavour built the same layer), else an upload streamed from the local store.
 */
export async function pushArtefacts(input: PushArtefactsInput): Promise<{ uploaded: number; mounted: number; present: number }> {
  const log = input.log ?? silentLogger;
  const distinct = [...new Map(input.artefacts.map((a) => [a.digest, a])).values()];
  const known = distinct.length
    ? await input.db.select({ digest: artefacts.digest, registryRepository: artefacts.registryRepository }).from(artefacts).where(inArray(artefacts.digest, distinct.map((a) => a.digest)))
    : [];
  const elsewhere = new Map(known.map((k) => [k.digest, k.registryRepository]));
  const counts = { uploaded: 0, mounted: 0, present: 0 };
  let done = 0;
  await inParallel(distinct, PARALLEL_UPLOADS, async (artefact) => {
    const { registry, repository } = input;
    const from = elsewhere.get(artefact.digest);
    // A blob known in another repository is mounted straight away (one round trip, and a no-op when this repository
    // has it already); otherwise ask before uploading.
    if (from && from !== repository && (await registry.mountBlob(repository, artefact.digest, from).catch(() => false))) counts.mounted++;
    else if (await registry.headBlob(repository, artefact.digest)) counts.present++;
    else {
      if (input.store.has(artefact.digest)) {
        await registry.putBlobStream(repository, artefact.digest, artefact.size, input.store.open(artefact.digest));
        counts.uploaded++;
      } else {
        throw new Error(`The artefact ${artefact.digest} is neither in this worker's store nor in the registry; build the flavour again to make it.`);
      }
    }
    done++;
    input.onProgress?.(`publishing the repository: ${done} of ${distinct.length} artefacts in the registry`);
  });
  log.info("repository artefacts in the registry", { repository: input.repository, ...counts });
  // Where later repositories can mount them from.
  if (distinct.length) {
    await input.db
      .update(artefacts)
      .set({ registryRepository: input.repository })
      .where(and(inArray(artefacts.digest, distinct.map((a) => a.digest)), isNull(artefacts.registryRepository)));
  }
  return counts;
}

/** The OCI artifact manifest of a revision: its config is the index, its layers the artefacts with their metadata. */
export function artifactManifest(index: RepositoryIndex, config: { digest: string; size: number }) {
  return {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: REPOSITORY_ARTIFACT_TYPE,
    config: { mediaType: REPOSITORY_INDEX_MEDIA_TYPE, digest: config.digest, size: config.size },
    layers: index.packages.map((p) => ({
      mediaType: PACKAGE_MEDIA_TYPES[p.artefact.compression],
      digest: p.artefact.digest,
      size: p.artefact.size,
      annotations: {
        "org.opencontainers.image.title": luetArtefactFileName(p),
        "io.strata.package": packageKey(p),
        "io.strata.version": p.version,
        "io.strata.cache-key": p.cacheKey,
        "io.strata.uncompressed-size": String(p.artefact.uncompressedSize),
        "io.strata.file-count": String(p.artefact.fileCount),
        "io.strata.from-base": String(p.fromBase),
      },
    })),
    annotations: {
      "org.opencontainers.image.created": index.createdAt,
      "org.opencontainers.image.title": `${index.flavour} repository revision ${index.revision}`,
      "org.opencontainers.image.version": String(index.revision),
      "io.strata.flavour": index.flavour,
      "io.strata.org": index.org,
      "io.strata.build": index.build.id,
      "io.strata.image": `${index.build.image.reference}@${index.build.image.digest}`,
    },
  };
}

export interface PublishRevisionInput {
  registry: RegistryClient;
  /** The registry as other machines reach it (REGISTRY_PUBLIC_URL), for the reference Strata shows. */
  publicRegistry: string;
  orgId: string;
  org: string;
  flavourId: string;
  flavour: string;
  baseManifest: string;
  build: RepositoryIndex["build"];
  packages: readonly RecordedPackage[];
  debianPackages: readonly DebianPackage[];
  /** Cache key of the last package (the image the Debian packages were read from). */
  imageKey?: string | null;
  createdAt?: Date;
  log?: Logger;
}

/**
 * Numbers the revision (the flavour row is locked so two builds cannot take one number), writes the index and the
 * artifact manifest to the registry and the rows to the database, all inside `tx`. The artefact blobs must be in the
 * repository already (pushArtefacts). A crash after the manifest is written but before `tx` commits leaves a tag
 * that the next revision of this flavour overwrites: the database, not the tag list, says what is published.
 */
export async function publishRevision(tx: DbOrTx, input: PublishRevisionInput): Promise<RepositoryRevisionRow> {
  const log = input.log ?? silentLogger;
  const [existing] = await tx.select().from(repositoryRevisions).where(eq(repositoryRevisions.buildId, input.build.id));
  if (existing) return existing;
  const [flavour] = await tx.select({ imageRepository: flavours.imageRepository }).from(flavours).where(eq(flavours.id, input.flavourId)).for("no key update");
  const [last] = await tx
    .select({ number: repositoryRevisions.number })
    .from(repositoryRevisions)
    .where(eq(repositoryRevisions.flavourId, input.flavourId))
    .orderBy(desc(repositoryRevisions.number))
    .limit(1);
  const number = (last?.number ?? 0) + 1;
  const createdAt = input.createdAt ?? new Date();
  const index = repositoryIndex({ ...input, revision: number, createdAt });
  const { bytes, digest: indexDigest } = serialiseIndex(index);

  const repository = repositoryName(flavour.imageRepository);
  await input.registry.putBlob(repository, indexDigest, bytes);
  const manifest = Buffer.from(JSON.stringify(artifactManifest(index, { digest: indexDigest, size: bytes.length })));
  const manifestDigest = await input.registry.putManifest(repository, String(number), manifest, OCI_MANIFEST);
  const reference = `${input.publicRegistry}/${repository}:${number}`;

  const [revision] = await tx
    .insert(repositoryRevisions)
    .values({
      orgId: input.orgId,
      flavourId: input.flavourId,
      number,
      buildId: input.build.id,
      index: bytes.toString("utf8"),
      indexDigest,
      reference,
      manifestDigest,
      packageCount: index.totals.packages,
      fileCount: index.totals.fileCount,
      size: index.totals.size,
      uncompressedSize: index.totals.uncompressedSize,
      debianPackageCount: index.debianPackages.length,
      imageKey: input.imageKey ?? null,
      createdAt,
    })
    .returning();
  if (index.packages.length) {
    await tx.insert(repositoryPackages).values(
      index.packages.map((p, position) => ({
        revisionId: revision.id,
        position,
        category: p.category,
        name: p.name,
        version: p.version,
        requires: p.requires,
        fromBase: p.fromBase,
        artefactDigest: p.artefact.digest,
        cacheKey: p.cacheKey,
        cached: p.cached,
        buildMs: p.buildMs,
        definition: p.definition,
      })),
    );
  }
  for (let i = 0; i < index.debianPackages.length; i += 1000) {
    await tx.insert(repositoryDebianPackages).values(
      index.debianPackages.slice(i, i + 1000).map((d) => ({
        revisionId: revision.id,
        name: d.name,
        architecture: d.architecture,
        version: d.version,
        source: d.source ?? null,
        sourceVersion: d.sourceVersion ?? null,
        license: d.license ?? null,
        homepage: d.homepage ?? null,
      })),
    );
  }
  log.info("published repository revision", { reference, manifestDigest, indexDigest });
  return revision;
}

/**
 * The Debian packages of the image a cache key names, when a revision has read them already (an image is the same
 * wherever its key is built); null when none has.
 */
export async function knownDebianPackages(db: DbOrTx, imageKey: string): Promise<DebianPackage[] | null> {
  const [known] = await db.select({ id: repositoryRevisions.id }).from(repositoryRevisions).where(eq(repositoryRevisions.imageKey, imageKey)).limit(1);
  if (!known) return null;
  const rows = await db.select().from(repositoryDebianPackages).where(eq(repositoryDebianPackages.revisionId, known.id));
  return rows.map((r) => ({
    name: r.name,
    version: r.version,
    architecture: r.architecture,
    ...(r.source !== null ? { source: r.source } : {}),
    ...(r.sourceVersion !== null ? { sourceVersion: r.sourceVersion } : {}),
    ...(r.license !== null ? { license: r.license } : {}),
    ...(r.homepage !== null ? { homepage: r.homepage } : {}),
  }));
}

/**
 * Licences already read for these package versions in any revision (null: read, and none found), for
 * readImageDebianPackages' knownLicenses.
 */
export function knownDebianLicenses(db: DbOrTx) {
  return async (packages: readonly DebianPackage[]): Promise<Map<string, string | null>> => {
    const known = new Map<string, string | null>();
    if (packages.length === 0) return known;
    const list = (pick: (p: DebianPackage) => string) => sql.join(packages.map((p) => sql`${pick(p)}`), sql`, `);
    const result = await db.execute(sql`
      select distinct on (d.name, d.architecture, d.version) d.name, d.architecture, d.version, d.license
      from unnest(array[${list((p) => p.name)}]::text[], array[${list((p) => p.architecture)}]::text[], array[${list((p) => p.version)}]::text[]) as k(name, architecture, version)
      join repository_debian_packages d on d.name = k.name and d.architecture = k.architecture and d.version = k.version
      order by d.name, d.architecture, d.version, d.license nulls last`);
    for (const row of result.rows as Array<{ name: string; architecture: string; version: string; license: string | null }>) known.set(debianPackageKey(row), row.license);
    return known;
  };
}

/** Used by the backfill: succeeded builds that have no revision yet, oldest first. */
export const unpublishedBuildsQuery = sql`select b.id from builds b where b.status = 'succeeded' and b.kind = 'build' and not exists (select 1 from repository_revisions r where r.build_id = b.id) order by b.finished_at asc nulls first, b.created_at asc`;
