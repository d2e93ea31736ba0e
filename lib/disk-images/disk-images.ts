// Disk images as customers see them: ask for one of a succeeded build (row + job in one transaction), list, read, tail the log.
import { and, asc, desc, eq, gt, inArray, sql } from "drizzle-orm";
import { z } from "zod";
import type { Db, DbOrTx } from "../db";
import { artefacts, buildPackages, builds, diskImageLogs, diskImages, flavours, type DiskImage, type DiskImageFile } from "../db/schema";
import type { Actor } from "../auth/actor";
import { orgScope } from "../auth/roles";
import { ConflictError, NotFoundError } from "../errors";
import { bossDb, getSenderBoss, QUEUES } from "../jobs/boss";
import { notifyBuildQueued } from "../jobs/wake";
import { parseInput } from "../validation";
import { computeLayout, DISK_FORMATS, GiB, parseSize, type DiskFormat, type RootfsSize } from "./layout";

export interface DiskImageJob {
  diskImageId: string;
}

/** The largest disk image a request may ask for (STRATA_DISK_IMAGE_MAX_BYTES, default 64 GiB). */
export function maxDiskBytes(): number {
  const value = process.env.STRATA_DISK_IMAGE_MAX_BYTES;
  if (!value) return 64 * GiB;
  const parsed = parseSize(value);
  if (!parsed) throw new Error(`STRATA_DISK_IMAGE_MAX_BYTES="${value}" is not a size (e.g. 64G or a number of bytes)`);
  return parsed;
}

export const DiskImageInput = z
  .object({
    /** The whole disk, e.g. "4G", "3584M" or bytes; the default leaves the slots room to grow and 1 GiB of state. */
    size: z
      .union([z.string().max(32), z.number()])
      .optional()
      .refine((v) => v === undefined || parseSize(v) !== null, 'a size is a number of bytes or a number with a unit, e.g. "4G" or "3584M"'),
    formats: z
      .array(z.enum(DISK_FORMATS, { error: (issue) => `unknown format ${JSON.stringify(issue.input)}; the formats are ${DISK_FORMATS.join(" and ")}` }))
      .min(1, "choose at least one format")
      .max(DISK_FORMATS.length)
      .default(["raw", "qcow2"]),
  })
  .strict();

const uuidOr404 = (id: string, what: string) => {
  if (!z.uuid().safeParse(id).success) throw new NotFoundError(`No such ${what}.`);
};

/** What the build's root filesystem holds: the sum of its packages' layers (an upper bound: later layers may replace files). */
export async function rootfsSizeOfBuild(db: DbOrTx, buildId: string): Promise<RootfsSize> {
  const [row] = await db
    .select({ bytes: sql<string>`coalesce(sum(${artefacts.uncompressedSize}), 0)`, files: sql<string>`coalesce(sum(${artefacts.fileCount}), 0)` })
    .from(buildPackages)
    .innerJoin(artefacts, eq(artefacts.digest, buildPackages.artefactDigest))
    .where(eq(buildPackages.buildId, buildId));
  return { bytes: Number(row?.bytes ?? 0), files: Number(row?.files ?? 0) };
}

/**
 * Queues a disk image of a succeeded build. Asking again for the same size and formats while one is queued, running
 * or made returns that one (`created: false`) instead of making it twice.
 */
export async function requestDiskImage(db: Db, actor: Actor, buildId: string, input: unknown): Promise<{ diskImage: DiskImage; created: boolean }> {
  uuidOr404(buildId, "build");
  const parsed = parseInput(DiskImageInput, input ?? {});
  const formats = DISK_FORMATS.filter((f) => parsed.formats.includes(f));
  return db.transaction(async (tx) => {
    const [build] = await tx
      .select()
      .from(builds)
      .where(and(eq(builds.id, buildId), orgScope(actor, builds.orgId)));
    if (!build) throw new NotFoundError("No such build.");
    if (build.status !== "succeeded" || !build.imageDigest) {
      throw new ConflictError(`Build ${build.version} is ${build.status}; only a succeeded build has an image to install.`);
    }
    const layout = computeLayout(await rootfsSizeOfBuild(tx, build.id), {
      size: parsed.size === undefined ? undefined : (parseSize(parsed.size) ?? undefined),
      maxBytes: maxDiskBytes(),
    });
    const same = await tx
      .select()
      .from(diskImages)
      .where(and(eq(diskImages.buildId, build.id), eq(diskImages.sizeBytes, layout.size), inArray(diskImages.status, ["queued", "running", "succeeded"])));
    const existing = same.find((d) => d.formats.length === formats.length && d.formats.every((f) => formats.includes(f)));
    if (existing) return { diskImage: existing, created: false };

    const [row] = await tx
      .insert(diskImages)
      .values({ orgId: build.orgId, buildId: build.id, sizeBytes: layout.size, formats, layout, requestedBy: actor.user.id })
      .returning();
    const boss = await getSenderBoss();
    const jobId = await boss.send(QUEUES.diskImage, { diskImageId: row.id } satisfies DiskImageJob, { db: bossDb(tx) });
    // The same wake-up as builds: idle workers listen on one channel.
    await notifyBuildQueued(tx, row.id);
    const [withJob] = await tx.update(diskImages).set({ jobId }).where(eq(diskImages.id, row.id)).returning();
    return { diskImage: withJob, created: true };
  });
}

export async function listDiskImages(db: DbOrTx, actor: Actor, buildId: string): Promise<DiskImage[]> {
  uuidOr404(buildId, "build");
  const [build] = await db
    .select({ id: builds.id })
    .from(builds)
    .where(and(eq(builds.id, buildId), orgScope(actor, builds.orgId)));
  if (!build) throw new NotFoundError("No such build.");
  return db.select().from(diskImages).where(eq(diskImages.buildId, build.id)).orderBy(desc(diskImages.createdAt));
}

export async function getDiskImage(db: DbOrTx, actor: Actor, id: string) {
  uuidOr404(id, "disk image");
  const [row] = await db
    .select({ diskImage: diskImages, build: { id: builds.id, version: builds.version, imageRef: builds.imageRef, imageDigest: builds.imageDigest }, flavour: { id: flavours.id, name: flavours.name } })
    .from(diskImages)
    .innerJoin(builds, eq(builds.id, diskImages.buildId))
    .innerJoin(flavours, eq(flavours.id, builds.flavourId))
    .where(and(eq(diskImages.id, id), orgScope(actor, diskImages.orgId)));
  if (!row) throw new NotFoundError("No such disk image.");
  return { ...row.diskImage, build: row.build, flavour: row.flavour };
}

export async function getDiskImageLogs(db: DbOrTx, actor: Actor, id: string, opts: { after?: number; limit?: number } = {}) {
  const diskImage = await getDiskImage(db, actor, id);
  const lines = await db
    .select({ id: diskImageLogs.id, line: diskImageLogs.line, at: diskImageLogs.at })
    .from(diskImageLogs)
    .where(and(eq(diskImageLogs.diskImageId, diskImage.id), opts.after ? gt(diskImageLogs.id, opts.after) : undefined))
    .orderBy(asc(diskImageLogs.id))
    .limit(Math.min(opts.limit ?? 1000, 5000));
  return { diskImage, lines };
}

/** A made file of a disk image, with the name a download gets: <flavour>-<version>.<format>. */
export async function getDiskImageFile(db: DbOrTx, actor: Actor, id: string, format: string) {
  const diskImage = await getDiskImage(db, actor, id);
  if (!(DISK_FORMATS as readonly string[]).includes(format)) {
    throw new NotFoundError(`No format "${format}"; the formats are ${DISK_FORMATS.join(" and ")}.`);
  }
  if (diskImage.status !== "succeeded") throw new ConflictError(`This disk image is ${diskImage.status}; it can be downloaded once it has succeeded.`);
  const file = diskImage.files.find((f) => f.format === format);
  if (!file) throw new NotFoundError(`This disk image was made without the ${format} format; ask for a new one that includes it.`);
  return { diskImage, file, filename: downloadName(diskImage.flavour.name, diskImage.build.version, format as DiskFormat) };
}

export function downloadName(flavour: string, version: string, format: DiskFormat): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, "-");
  return `${safe(flavour)}-${safe(version)}.${format === "raw" ? "img" : "qcow2"}`;
}

export type { DiskImageFile };
