import { bigint, bigserial, index, integer, jsonb, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { orgs } from "./orgs";
import { users } from "./users";
import { builds } from "./builds";

export const DISK_IMAGE_STATUSES = ["queued", "running", "succeeded", "failed"] as const;
export type DiskImageStatus = (typeof DISK_IMAGE_STATUSES)[number];

/** One made file of a disk image: content-addressed by the sha256 of its bytes. */
export interface DiskImageFile {
  format: "raw" | "qcow2";
  /** sha256 of the file as downloaded. */
  digest: string;
  size: number;
  mediaType: string;
  /** The registry's copy: the file zstd-compressed, a layer of the artifact. Null until it is published. */
  blob?: { digest: string; size: number; mediaType: string } | null;
}

/** The partition layout, as computed when the image was asked for (lib/disk-images/layout.ts). */
export interface DiskImageLayout {
  size: number;
  partitions: Array<{ number: number; name: string; type: string; offset: number; size: number }>;
}

// A bootable A/B disk image of a succeeded build; the row and its pg-boss job are created in one transaction.
export const diskImages = pgTable(
  "disk_images",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    orgId: uuid("org_id")
      .notNull()
      .references(() => orgs.id, { onDelete: "cascade" }),
    buildId: uuid("build_id")
      .notNull()
      .references(() => builds.id, { onDelete: "cascade" }),
    status: text("status", { enum: DISK_IMAGE_STATUSES }).notNull().default("queued"),
    sizeBytes: bigint("size_bytes", { mode: "number" }).notNull(),
    formats: jsonb("formats").$type<Array<"raw" | "qcow2">>().notNull(),
    layout: jsonb("layout").$type<DiskImageLayout>().notNull(),
    /** 0-100, weighted by what each phase usually takes. */
    progress: integer("progress").notNull().default(0),
    /** One line on what the job is doing now, e.g. "writing slot A (669 MB)". */
    phaseDetail: text("phase_detail"),
    files: jsonb("files").$type<DiskImageFile[]>().notNull().default([]),
    /** The OCI artifact in the registry that holds the files, by digest: registry/org/flavour@sha256:… */
    artifactRef: text("artifact_ref"),
    error: text("error"),
    jobId: text("job_id"),
    workerId: text("worker_id"),
    requestedBy: uuid("requested_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    startedAt: timestamp("started_at", { withTimezone: true }),
    finishedAt: timestamp("finished_at", { withTimezone: true }),
    heartbeatAt: timestamp("heartbeat_at", { withTimezone: true }),
  },
  (t) => [index("disk_images_build_idx").on(t.buildId, t.createdAt), index("disk_images_status_idx").on(t.status)],
);

// The job's output, line by line, tailed by the page from the last id it saw.
export const diskImageLogs = pgTable(
  "disk_image_logs",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    diskImageId: uuid("disk_image_id")
      .notNull()
      .references(() => diskImages.id, { onDelete: "cascade" }),
    line: text("line").notNull(),
    at: timestamp("at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("disk_image_logs_image_idx").on(t.diskImageId, t.id)],
);

export type DiskImage = typeof diskImages.$inferSelect;
