// What an imported build changes against its parent build: who imported what from where, its extra layers, and the
// files they add, change and remove (net over the layers), as the build page and GET /api/v1/builds/{id}/diff show it.
import { and, asc, eq, inArray } from "drizzle-orm";
import type { DbOrTx } from "../db";
import { artefactFiles, artefacts, buildPackages, builds, users } from "../db/schema";
import type { Actor } from "../auth/actor";
import { NotFoundError } from "../errors";
import { getBuildRow } from "./builds";
import { netChanges, type ImportedLayerChanges, type PathChange } from "./import-layers";

/** Files listed in the answer; the totals count all of them. */
const FILES_SHOWN = 2_000;

export interface ImportDiff {
  build: { id: string; version: string };
  parent: { id: string; version: string } | null;
  importedBy: { name: string; email: string } | null;
  importedAt: string;
  sourceReference: string | null;
  layers: Array<{ packageId: string; diffId: string | null; digest: string | null; size: number | null; createdBy: string | null; artefact: { digest: string; fileCount: number; uncompressedSize: number } | null }>;
  totals: { added: number; changed: number; removed: number };
  files: Array<{ path: string; change: PathChange; type: string | null; size: number | null }>;
  /** More files changed than `files` lists (or a layer held more than its recorded paths). */
  truncated: boolean;
}

export async function getImportDiff(db: DbOrTx, actor: Actor, buildId: string): Promise<ImportDiff> {
  const build = await getBuildRow(db, actor, buildId);
  if (build.kind !== "import") throw new NotFoundError(`Build ${build.version} was built by Strata, not imported: only imported builds have a diff against a parent build.`);
  const [[parent], [importer], rows] = await Promise.all([
    build.parentBuildId ? db.select({ id: builds.id, version: builds.version }).from(builds).where(eq(builds.id, build.parentBuildId)) : Promise.resolve([]),
    build.startedBy ? db.select({ name: users.name, email: users.email }).from(users).where(eq(users.id, build.startedBy)) : Promise.resolve([]),
    db
      .select({ packageId: buildPackages.packageId, changes: buildPackages.changes, artefact: { digest: artefacts.digest, fileCount: artefacts.fileCount, uncompressedSize: artefacts.uncompressedSize } })
      .from(buildPackages)
      .leftJoin(artefacts, eq(artefacts.digest, buildPackages.artefactDigest))
      .where(and(eq(buildPackages.buildId, build.id), eq(buildPackages.status, "imported")))
      .orderBy(asc(buildPackages.position)),
  ]);
  const layerChanges = rows.map((r) => r.changes as ImportedLayerChanges | null);
  const net = netChanges(layerChanges.map((c) => c?.paths ?? []));
  const shown = net.slice(0, FILES_SHOWN);

  // Type and size of what is there now: from the last layer that holds the path.
  const digests = rows.map((r) => r.artefact?.digest).filter((d): d is string => !!d);
  const present = shown.filter((f) => f.change !== "removed").map((f) => f.path);
  const details = new Map<string, { type: string; size: number }>();
  if (digests.length && present.length) {
    const found = await db
      .select({ digest: artefactFiles.artefactDigest, path: artefactFiles.path, type: artefactFiles.type, size: artefactFiles.size })
      .from(artefactFiles)
      .where(and(inArray(artefactFiles.artefactDigest, digests), inArray(artefactFiles.path, present)));
    const order = new Map(digests.map((d, i) => [d, i]));
    found.sort((a, b) => (order.get(a.digest) ?? 0) - (order.get(b.digest) ?? 0));
    for (const f of found) details.set(f.path, { type: f.type, size: f.size });
  }
  const recordedAll = layerChanges.every((c) => !c || c.paths.length === c.added + c.changed + c.removed);
  return {
    build: { id: build.id, version: build.version },
    parent: parent ?? null,
    importedBy: importer ?? null,
    importedAt: build.createdAt.toISOString(),
    sourceReference: build.sourceReference,
    layers: rows.map((r, i) => ({
      packageId: r.packageId,
      diffId: layerChanges[i]?.layer?.diffId ?? null,
      digest: layerChanges[i]?.layer?.digest ?? null,
      size: layerChanges[i]?.layer?.size ?? null,
      createdBy: layerChanges[i]?.layer?.createdBy ?? null,
      artefact: r.artefact?.digest ? r.artefact : null,
    })),
    totals: {
      added: net.filter((f) => f.change === "added").length,
      changed: net.filter((f) => f.change === "changed").length,
      removed: net.filter((f) => f.change === "removed").length,
    },
    files: shown.map((f) => ({ ...f, type: details.get(f.path)?.type ?? null, size: details.get(f.path)?.size ?? null })),
    truncated: net.length > shown.length || !recordedAll,
  };
}
