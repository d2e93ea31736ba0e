// Disk images: one with its build and flavour, its job's log, and the made files as downloads.
import { z } from "zod";
import { idParams, route, timestamp, uuid } from "../spec";
import { DiskImageDetail, DiskImageItem } from "../../disk-images/view";

const NO_DISK_IMAGE = "No such disk image.";

export const getDiskImage = route({
  method: "GET",
  path: "/api/v1/disk-images/{id}",
  summary: "One disk image: status, progress, files and layout, with its build and flavour",
  tags: ["disk-images"],
  role: "customer",
  params: idParams,
  notFound: NO_DISK_IMAGE,
  response: DiskImageDetail,
});

export const diskImageLogs = route({
  method: "GET",
  path: "/api/v1/disk-images/{id}/logs",
  summary: "The disk image job's log lines in order, and the disk image's state, for polling",
  tags: ["disk-images"],
  role: "customer",
  params: idParams,
  notFound: NO_DISK_IMAGE,
  query: z.object({
    after: z.coerce.number().int().min(0).default(0).describe("The last line id already read; lines after it are returned"),
    limit: z.coerce.number().int().min(1).max(5000).default(1000).describe("Lines at most (1–5000, default 1000)"),
  }),
  response: z.object({
    status: DiskImageItem.shape.status,
    lines: z.array(z.object({ id: z.number().int(), line: z.string(), at: timestamp })),
  }),
});

export const downloadDiskImage = route({
  method: "GET",
  path: "/api/v1/disk-images/{id}/download/{format}",
  summary: "Download a made file of a disk image (raw or qcow2)",
  description:
    "Streamed with ETag (the file's sha256), Range requests (206, 416 for a range outside the file) and HEAD; from this server's store, else from the registry's zstd-compressed copy.",
  tags: ["disk-images"],
  role: "customer",
  params: z.object({ id: uuid, format: z.string().max(20).describe("raw or qcow2") }),
  notFound: NO_DISK_IMAGE,
  response: { contentType: "application/octet-stream", description: "The disk image file (<flavour>-<version>.img or .qcow2)" },
  errors: { 404: "No such disk image, format, or the file is gone", 409: "The disk image has not succeeded yet", 416: "The range is outside the file" },
});
