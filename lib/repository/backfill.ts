// Publishes a repository revision for every successful build that has none: builds that succeeded before repositories
// existed, so nobody's history is empty after the upgrade. One worker at a time (an advisory lock); a build that cannot
// be published (its artefacts are gone) is reported and left for the next start.
import type Dockerode from "dockerode";
import type pg from "pg";
import { asc, eq } from "drizzle-orm";
import type { Db } from "../db";
import { artefacts, buildPackages, builds, flavourRevisions, flavours, orgs } from "../db/schema";
import { getBaseManifest } from "../base-manifests/base-manifests";
import { revisionPackages } from "../flavours/kept-packages";
import { silentLogger, type Logger } from "../log";
import type { RegistryClient } from "../registry/client";
import type { ArtefactStore } from "../builder/artefact-store";
import { findImageByCacheKey } from "../builder/engine/images";
import { readImageDebianPackages } from "./dpkg";
import { knownDebianLicenses, knownDebianPackages, publishRevision, pushArtefacts, repositoryName, unpublishedBuildsQuery } from "./publish";
import type { RecordedPackage } from "./index-doc";
import type { DebianPackage } from "./types";

export interface BackfillDeps {
  db: Db;
  pool: pg.Pool;
  docker: Dockerode;
  registry: RegistryClient;
  publicRegistry: string;
  store: ArtefactStore;
  log?: Logger;
}

const LOCK = "select pg_try_advisory_lock(hashtextextended('strata.repository-backfill', 7041)) as locked";
const UNLOCK = "select pg_advisory_unlock(hashtextextended('strata.repository-backfill', 7041))";

/** Returns how many builds were published; 0 when another worker holds the backfill. */
export async function backfillRepositories(deps: BackfillDeps): Promise<{ published: number; failed: number }> {
  const log = deps.log ?? silentLogger;
  const client = await deps.pool.connect();
  const onError = (err: Error) => log.warn(`backfill lock connection lost: ${err.message}`);
  client.on("error", onError);
  try {
    const { rows } = await client.query<{ locked: boolean }>(LOCK);
    if (!rows[0]?.locked) return { published: 0, failed: 0 };
    try {
      const pending = (await deps.db.execute(unpublishedBuildsQuery)).rows as Array<{ id: string }>;
      let published = 0;
      let failed = 0;
      for (const { id } of pending) {
        try {
          await publishBuild(deps, id, log);
          published++;
        } catch (err) {
          failed++;
          log.warn(`build ${id}: no repository revision could be published: ${(err as Error).message}`);
        }
      }
      if (pending.length) log.info(`repository backfill: ${published} of ${pending.length} earlier builds published`);
      return { published, failed };
    } finally {
      await client.query(UNLOCK);
    }
  } finally {
    client.off("error", onError);
    client.release();
  }
}

/** What the build recorded, made into a revision the way the build itself would have. */
async function publishBuild(deps: BackfillDeps, buildId: string, log: Logger): Promise<void> {
  const { db } = deps;
  const [context] = await db
    .select({
      build: builds,
      layers: flavourRevisions.layers,
      excludedPackages: flavourRevisions.excludedPackages,
      baseManifestId: flavourRevisions.baseManifestId,
      flavour: flavours.name,
      imageRepository: flavours.imageRepository,
      org: orgs.slug,
    })
    .from(builds)
    .innerJoin(flavourRevisions, eq(flavourRevisions.id, builds.revisionId))
    .innerJoin(flavours, eq(flavours.id, builds.flavourId))
    .innerJoin(orgs, eq(orgs.id, builds.orgId))
    .where(eq(builds.id, buildId));
  if (!context) return;
  const { build } = context;
  const base = await getBaseManifest(db, context.baseManifestId);
  const definitions = revisionPackages(base.packages, context);
  const rows = await db
    .select({ pkg: buildPackages, artefact: artefacts })
    .from(buildPackages)
    .leftJoin(artefacts, eq(artefacts.digest, buildPackages.artefactDigest))
    .where(eq(buildPackages.buildId, build.id))
    .orderBy(asc(buildPackages.position));
  if (rows.length !== definitions.length) throw new Error(`it recorded ${rows.length} packages, its revision has ${definitions.length}`);
  const packages: RecordedPackage[] = rows.map(({ pkg, artefact }, position) => {
    if (!artefact || !pkg.cacheKey) throw new Error(`${pkg.packageId} has no recorded artefact`);
    return {
      definition: definitions[position],
      fromBase: pkg.fromBase,
      cacheKey: pkg.cacheKey,
      cached: pkg.cached ?? false,
      buildMs: pkg.durationMs,
      artefact: {
        digest: artefact.digest,
        size: artefact.size,
        uncompressedSize: artefact.uncompressedSize,
        compression: artefact.compression === "gzip" ? "gzip" : "zstd",
        fileCount: artefact.fileCount,
        deleted: artefact.deleted,
      },
    };
  });
  // The dpkg database of the image, when this engine still has the last package's image; else the list stays empty.
  const lastKey = packages[packages.length - 1]?.cacheKey;
  const known = lastKey ? await knownDebianPackages(db, lastKey) : null;
  const imageId = !known && lastKey ? await findImageByCacheKey(deps.docker, lastKey, log).catch(() => null) : null;
  const debianPackages: DebianPackage[] = known ?? (imageId ? await readImageDebianPackages(deps.docker, imageId, { log, knownLicenses: knownDebianLicenses(db) }).catch(() => []) : []);

  const repository = repositoryName(context.imageRepository);
  await pushArtefacts({ db, registry: deps.registry, store: deps.store, repository, artefacts: packages.map((p) => p.artefact), log });
  const image = { reference: build.imageRef ?? `${deps.publicRegistry}/${context.imageRepository}:${build.version}`, digest: build.imageDigest ?? "", size: build.imageSize ?? 0 };
  await db.transaction(async (tx) => {
    const revision = await publishRevision(tx, {
      registry: deps.registry,
      publicRegistry: deps.publicRegistry,
      orgId: build.orgId,
      org: context.org,
      flavourId: build.flavourId,
      flavour: context.flavour,
      baseManifest: `${base.name} ${base.version}`,
      build: { id: build.id, version: build.version, flavourRevision: build.revisionNumber, image },
      packages,
      debianPackages,
      // Only a list read from the image (or known for its key) may answer for the key later.
      imageKey: known || imageId ? lastKey : null,
      // Dated when the build finished, so the revision list reads in the order things happened.
      createdAt: build.finishedAt ?? undefined,
      log,
    });
    log.info(`build ${build.version} of ${context.org}/${context.flavour}: published as repository revision ${revision.number}`);
  });
}
