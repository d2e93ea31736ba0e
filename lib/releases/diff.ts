// What a release changes against the channel's current release: packages and Debian packages, and the size delta.
// From the two builds' repository revisions when both exist (they carry the Debian packages), else from the builds'
// package rows and artefacts.
import { asc, eq, inArray } from "drizzle-orm";
import type { DbOrTx } from "../db";
import { artefacts, buildPackages, builds, repositoryRevisions } from "../db/schema";
import { diffDebianPackages, diffPackages } from "../repository/diff";
import { parseIndex } from "../repository/index-doc";
import type { IndexPackage } from "../repository/types";

export interface ReleaseDiff {
  source: "repository" | "builds";
  packages: {
    added: Array<{ key: string; version: string; size: number }>;
    removed: Array<{ key: string; version: string; size: number }>;
    changed: Array<{ key: string; from: string; to: string; sizeDelta: number; sameArtefact: boolean }>;
    unchanged: number;
    /** Compressed artefact bytes, to − from. */
    sizeDelta: number;
  };
  /** Null when either build has no repository revision (built before repositories existed). */
  debianPackages: {
    added: Array<{ name: string; version: string }>;
    removed: Array<{ name: string; version: string }>;
    changed: Array<{ name: string; from: string; to: string }>;
  } | null;
  /** Bytes of the OS image in the registry, to − from (null when a size is unknown). */
  imageSizeDelta: number | null;
}

async function packagesOfBuild(db: DbOrTx, buildId: string): Promise<IndexPackage[]> {
  const rows = await db
    .select({ packageId: buildPackages.packageId, version: buildPackages.version, digest: buildPackages.artefactDigest, size: artefacts.size })
    .from(buildPackages)
    .leftJoin(artefacts, eq(artefacts.digest, buildPackages.artefactDigest))
    .where(eq(buildPackages.buildId, buildId))
    .orderBy(asc(buildPackages.position));
  // Only the fields diffPackages reads: the key, version and artefact.
  return rows.map((r) => {
    const [category, name] = r.packageId.split("/");
    return { category, name, version: r.version, artefact: { digest: r.digest ?? "", size: r.size ?? 0, uncompressedSize: 0, fileCount: 0 } } as unknown as IndexPackage;
  });
}

export async function releaseDiff(db: DbOrTx, fromBuildId: string, toBuildId: string): Promise<ReleaseDiff> {
  const [revisions, sizes] = await Promise.all([
    db.select({ buildId: repositoryRevisions.buildId, index: repositoryRevisions.index }).from(repositoryRevisions).where(inArray(repositoryRevisions.buildId, [fromBuildId, toBuildId])),
    db.select({ id: builds.id, size: builds.imageSize }).from(builds).where(inArray(builds.id, [fromBuildId, toBuildId])),
  ]);
  const fromRevision = revisions.find((r) => r.buildId === fromBuildId);
  const toRevision = revisions.find((r) => r.buildId === toBuildId);
  const fromSize = sizes.find((s) => s.id === fromBuildId)?.size ?? null;
  const toSize = sizes.find((s) => s.id === toBuildId)?.size ?? null;
  const imageSizeDelta = fromSize !== null && toSize !== null ? toSize - fromSize : null;

  let source: ReleaseDiff["source"] = "builds";
  let from: IndexPackage[];
  let to: IndexPackage[];
  let debianPackages: ReleaseDiff["debianPackages"] = null;
  if (fromRevision && toRevision) {
    source = "repository";
    const a = parseIndex(fromRevision.index);
    const b = parseIndex(toRevision.index);
    from = a.packages;
    to = b.packages;
    const debian = diffDebianPackages(a.debianPackages, b.debianPackages);
    debianPackages = {
      added: debian.added.map((p) => ({ name: p.name, version: p.version })),
      removed: debian.removed.map((p) => ({ name: p.name, version: p.version })),
      changed: debian.changed.map((c) => ({ name: c.name, from: c.from, to: c.to })),
    };
  } else {
    [from, to] = await Promise.all([packagesOfBuild(db, fromBuildId), packagesOfBuild(db, toBuildId)]);
  }
  const diff = diffPackages(from, to);
  const key = (p: IndexPackage) => `${p.category}/${p.name}`;
  return {
    source,
    packages: {
      added: diff.added.map((p) => ({ key: key(p), version: p.version, size: p.artefact.size })),
      removed: diff.removed.map((p) => ({ key: key(p), version: p.version, size: p.artefact.size })),
      changed: diff.changed.map((c) => ({ key: c.key, from: c.from.version, to: c.to.version, sizeDelta: c.sizeDelta, sameArtefact: c.sameArtefact })),
      unchanged: diff.unchanged,
      sizeDelta: diff.sizeDelta,
    },
    debianPackages,
    imageSizeDelta,
  };
}
