import { bigint, bigserial, boolean, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { orgs } from "./orgs";
import { users } from "./users";
import { flavours, flavourRevisions } from "./manifests";

export const BUILD_STATUSES = ["queued", "running", "succeeded", "failed", "cancelled"] as const;
export type BuildStatus = (typeof BUILD_STATUSES)[number];
export const TERMINAL_STATUSES: readonly BuildStatus[] = ["succeeded", "failed", "cancelled"];

/** What a running build is doing: making the base image and checking parts, building packages, or publishing the image. */
export const BUILD_PHASES = ["preparing", "building", "publishing"] as const;
export type BuildPhase = (typeof BUILD_PHASES)[number];

export const PACKAGE_STATUSES = ["pending", "running", "cached", "built", "imported", "failed", "cancelled"] as const;

/** A build made by the builder, or an image made by hand (docker run + commit + push) brought back in. */
export const BUILD_KINDS = ["build", "import"] as const;
export type BuildKind = (typeof BUILD_KINDS)[number];

/** How a rebuilt package's artefact compares with the one the cache held for the same key (from-scratch builds). */
export interface ArtefactChanges {
  /** The artefact digests are equal. */
  identical: boolean;
  /** Counted over the file lists (path, type, mode, size, content, link target); mtimes are not compared. */
  added: number;
  removed: number;
  changed: number;
  /** The first changed paths, each with its kind. */
  paths: Array<{ path: string; change: "added" | "removed" | "changed" }>;
  /**
   * Differences in paths that change on every rebuild (logs, caches, ld.so.cache, "-old" backups): not counted in
   * added/removed/changed above, so "only logs and caches changed" reads as unchanged. Absent in older rows.
   */
  volatile?: number;
  /** The first of those paths. */
  volatilePaths?: string[];
}
export type BuildPackageStatus = (typeof PACKAGE_STATUSES)[number];

// One build of a flavour revision; the row and its pg-boss job are created in one transaction.
export const builds = pgTable(
  "builds",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    orgId: uuid("org_id")
      .notNull()
      .references(() => orgs.id, { onDelete: "cascade" }),
    flavourId: uuid("flavour_id")
      .notNull()
      .references(() => flavours.id, { onDelete: "cascade" }),
    revisionId: uuid("revision_id")
      .notNull()
      .references(() => flavourRevisions.id, { onDelete: "cascade" }),
    revisionNumber: integer("revision_number").notNull(),
    /** The image tag and the VERSION in /etc/os-release: r<revision>.<n-th build of it>. */
    version: text("version").notNull(),
    status: text("status", { enum: BUILD_STATUSES }).notNull().default("queued"),
    kind: text("kind", { enum: BUILD_KINDS }).notNull().default("build"),
    /** Built without the cache: every package built again, its result then the cached one for its key. */
    fromScratch: boolean("from_scratch").notNull().default(false),
    /** Started by the flavour's from-scratch schedule rather than a person. */
    scheduled: boolean("scheduled").notNull().default(false),
    /** An imported build: the build whose image the hand-made image was made from. */
    parentBuildId: uuid("parent_build_id"),
    /** An imported build: the reference it was imported from, by digest. */
    sourceReference: text("source_reference"),
    totalPackages: integer("total_packages").notNull(),
    donePackages: integer("done_packages").notNull().default(0),
    currentPackage: text("current_package"),
    /** Set while running; null once the build is final. */
    phase: text("phase", { enum: BUILD_PHASES }),
    /** One line on what the phase is doing now, e.g. "pushing system/kernel (312 MB)" or "verifying the pushed image". */
    phaseDetail: text("phase_detail"),
    imageRef: text("image_ref"),
    imageDigest: text("image_digest"),
    imageSize: bigint("image_size", { mode: "number" }),
    error: text("error"),
    attempt: integer("attempt").notNull().default(0),
    retryOf: uuid("retry_of"),
    jobId: text("job_id"),
    startedBy: uuid("started_by").references(() => users.id, { onDelete: "set null" }),
    workerId: text("worker_id"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    startedAt: timestamp("started_at", { withTimezone: true }),
    finishedAt: timestamp("finished_at", { withTimezone: true }),
    /** Written every few seconds by the worker running it; a stale one means that worker died. */
    heartbeatAt: timestamp("heartbeat_at", { withTimezone: true }),
    cancelRequestedAt: timestamp("cancel_requested_at", { withTimezone: true }),
    /** Queued again after an engine or registry outage: when the next attempt is due (null otherwise). */
    retryAt: timestamp("retry_at", { withTimezone: true }),
    /** Why the last attempt failed, while a retry is pending (the build page shows it with retryAt). */
    retryReason: text("retry_reason"),
    /** How many attempts the build gets in all (the first plus the retries), set when it is queued. */
    maxAttempts: integer("max_attempts").notNull().default(1),
    /** Output the build has printed so far: bytes and lines kept, and lines dropped by the per-second limit. */
    logBytes: bigint("log_bytes", { mode: "number" }).notNull().default(0),
    logLines: integer("log_lines").notNull().default(0),
    logDroppedLines: integer("log_dropped_lines").notNull().default(0),
  },
  (t) => [
    // One version per revision, and one pushed tag per flavour (the image repository is the flavour's).
    uniqueIndex("builds_revision_version_idx").on(t.revisionId, t.version),
    uniqueIndex("builds_flavour_version_idx").on(t.flavourId, t.version),
    // The builds list of a flavour, newest first, paged by (created_at, id) (listBuilds). Counting and numbering a
    // revision's builds (enqueueBuild) needs no index of its own: builds_revision_version_idx leads with revision_id.
    index("builds_flavour_idx").on(t.flavourId, t.createdAt, t.id),
    // The reaper's scan for running builds with a stale heartbeat.
    index("builds_status_idx").on(t.status),
    // The imports of a build (their versions are numbered per parent).
    index("builds_parent_idx").on(t.parentBuildId),
  ],
);

// Each package of a build, in manifest order.
export const buildPackages = pgTable(
  "build_packages",
  {
    buildId: uuid("build_id")
      .notNull()
      .references(() => builds.id, { onDelete: "cascade" }),
    position: integer("position").notNull(),
    packageId: text("package_id").notNull(),
    version: text("version").notNull(),
    /** From the base manifest (true) or a customer's layer (false). */
    fromBase: boolean("from_base").notNull(),
    status: text("status", { enum: PACKAGE_STATUSES }).notNull().default("pending"),
    cacheKey: text("cache_key"),
    cached: boolean("cached"),
    step: integer("step"),
    steps: integer("steps"),
    imageId: text("image_id"),
    artefactDigest: text("artefact_digest"),
    durationMs: integer("duration_ms"),
    /**
     * What this package is expected to take, for weighted progress and the time left: the last time the same
     * cache key was built, else the last build of the same package id, else null (the page assumes an average).
     * 0 when the key is in the cache already.
     */
    expectedMs: integer("expected_ms"),
    /** From-scratch builds: the artefact the cache held for this key before the rebuild (null when it held none). */
    previousArtefactDigest: text("previous_artefact_digest"),
    /** From-scratch builds: how the rebuilt artefact differs from previousArtefactDigest's. */
    changes: jsonb("changes").$type<ArtefactChanges>(),
    startedAt: timestamp("started_at", { withTimezone: true }),
    finishedAt: timestamp("finished_at", { withTimezone: true }),
  },
  (t) => [
    primaryKey({ columns: [t.buildId, t.position] }),
    // When a cache key was last used (the cache pruning job), and the builds that used it.
    index("build_packages_cache_key_idx").on(t.cacheKey),
  ],
);

// Build output, line by line; the live log streams rows after the last sequence number a client saw.
export const buildLogs = pgTable(
  "build_logs",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    buildId: uuid("build_id")
      .notNull()
      .references(() => builds.id, { onDelete: "cascade" }),
    packageId: text("package_id"),
    line: text("line").notNull(),
    at: timestamp("at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // Tailing one build's log from an id.
    index("build_logs_build_idx").on(t.buildId, t.id),
  ],
);

// Package artefacts, content-addressed: one row per distinct blob whichever build or organisation made it.
export const artefacts = pgTable("artefacts", {
  digest: text("digest").primaryKey(),
  size: bigint("size", { mode: "number" }).notNull(),
  uncompressedSize: bigint("uncompressed_size", { mode: "number" }).notNull(),
  fileCount: integer("file_count").notNull(),
  compression: text("compression").notNull(),
  /** Paths the layer deletes from lower layers. The files themselves are rows of artefact_files. */
  deleted: jsonb("deleted").$type<string[]>().notNull(),
  /** A registry repository that holds the blob (where it was first published), so another repository can mount it. */
  registryRepository: text("registry_repository"),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});

export type Build = typeof builds.$inferSelect;
export type BuildPackage = typeof buildPackages.$inferSelect;
export type ArtefactRow = typeof artefacts.$inferSelect;

// Runs of the cache pruning job: what it removed and what the cache held afterwards (the admin area shows the last).
export const cachePrunes = pgTable("cache_prunes", {
  id: uuid("id").primaryKey().defaultRandom(),
  startedAt: timestamp("started_at", { withTimezone: true }).notNull().defaultNow(),
  finishedAt: timestamp("finished_at", { withTimezone: true }),
  /** Which worker ran it. */
  workerId: text("worker_id"),
  /** Cache images not used for this many days were candidates. */
  maxAgeDays: integer("max_age_days").notNull(),
  removedImages: integer("removed_images").notNull().default(0),
  removedTags: integer("removed_tags").notNull().default(0),
  freedBytes: bigint("freed_bytes", { mode: "number" }).notNull().default(0),
  /** The engine's cache afterwards: images and bytes. */
  cacheImages: integer("cache_images"),
  cacheBytes: bigint("cache_bytes", { mode: "number" }),
  error: text("error"),
});
