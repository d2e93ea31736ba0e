// The disk image as clients see it: the shape of the disk image API and of the build page's panel. Parsing with it
// drops the job, the worker and its heartbeat.
import { z } from "zod";
import { DISK_IMAGE_STATUSES } from "../db/schema/disk-images";
import { timestamp } from "../api/spec";
import { DISK_FORMATS } from "./layout";

export const DiskImageFileItem = z.object({
  format: z.enum(DISK_FORMATS),
  digest: z.string().describe("sha256 of the file as downloaded"),
  size: z.number().int(),
  mediaType: z.string(),
  blob: z
    .object({ digest: z.string(), size: z.number().int(), mediaType: z.string() })
    .nullable()
    .optional()
    .describe("The registry's zstd-compressed copy; null until it is published"),
});

export const DiskImageItem = z.object({
  id: z.uuid(),
  buildId: z.uuid(),
  status: z.enum(DISK_IMAGE_STATUSES),
  sizeBytes: z.number().int().describe("The whole disk"),
  formats: z.array(z.enum(DISK_FORMATS)),
  layout: z.object({
    size: z.number().int(),
    partitions: z.array(z.object({ number: z.number().int(), name: z.string(), type: z.string(), offset: z.number().int(), size: z.number().int() })),
  }),
  progress: z.number().int().describe("0–100"),
  phaseDetail: z.string().nullable(),
  files: z.array(DiskImageFileItem).describe("The made files, once it has succeeded"),
  artifactRef: z.string().nullable().describe("The OCI artifact in the registry that holds the files, by digest"),
  error: z.string().nullable(),
  createdAt: timestamp,
  startedAt: timestamp.nullable(),
  finishedAt: timestamp.nullable(),
});

export const DiskImageDetail = DiskImageItem.extend({
  build: z.object({ id: z.uuid(), version: z.string(), imageRef: z.string().nullable(), imageDigest: z.string().nullable() }),
  flavour: z.object({ id: z.uuid(), name: z.string() }),
});

export type DiskImageItemJson = z.output<typeof DiskImageItem>;

/** Disk image rows as the API sends them (the build page's panel starts from these). */
export const shownDiskImages = (rows: unknown[]): DiskImageItemJson[] => z.array(DiskImageItem).parse(rows);
