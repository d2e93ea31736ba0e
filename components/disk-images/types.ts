// A disk image as the browser sees it (the API's JSON: dates are ISO strings), and what the panel needs to know of its build.
import type { DiskImageFile, DiskImageLayout, DiskImageStatus } from "@/lib/db/schema/disk-images";

export type { DiskImageFile, DiskImageLayout, DiskImageStatus };
export type DiskFormat = DiskImageFile["format"];
export const DISK_FORMAT_CHOICES: readonly DiskFormat[] = ["raw", "qcow2"];

export interface DiskImageView {
  id: string;
  buildId: string;
  status: DiskImageStatus;
  sizeBytes: number;
  formats: DiskFormat[];
  layout: DiskImageLayout;
  progress: number;
  phaseDetail: string | null;
  files: DiskImageFile[];
  artifactRef: string | null;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface DiskImageLogLine {
  id: number;
  line: string;
  at: string;
}

/** The sizes the form offers for this build, in bytes. */
export interface DiskSizes {
  default: number;
  minimum: number;
  maximum: number;
}

export const isActiveDiskImage = (status: DiskImageStatus) => status === "queued" || status === "running";
/** Made and downloadable, while the worker still pushes the registry's copies. */
export const isPublishing = (image: Pick<DiskImageView, "status" | "artifactRef" | "error">) => image.status === "succeeded" && !image.artifactRef && !image.error;
