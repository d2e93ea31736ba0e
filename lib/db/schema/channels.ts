// Release channels of a flavour, the releases asked for and approved onto them, and the registration tokens devices
// join them with.
import { sql } from "drizzle-orm";
import { bigint, index, integer, pgSequence, pgTable, text, timestamp, uniqueIndex, uuid, type AnyPgColumn } from "drizzle-orm/pg-core";
import { orgs } from "./orgs";
import { users } from "./users";
import { flavours } from "./manifests";
import { builds } from "./builds";

/**
 * One counter for every channel document change (releases, pauses, rollouts, pins, channel moves): a device's
 * document sequence is the larger of its channel's and its own value, so it only grows, also across moves.
 */
export const documentSequence = pgSequence("channel_document_sequence");
const nextSequence = sql`nextval('channel_document_sequence')`;

export const RELEASE_STATUSES = ["pending", "approved", "rejected"] as const;
export type ReleaseStatus = (typeof RELEASE_STATUSES)[number];

// A channel of a flavour ("stable", "beta", …); devices follow its current release.
export const channels = pgTable(
  "channels",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    orgId: uuid("org_id")
      .notNull()
      .references(() => orgs.id, { onDelete: "cascade" }),
    flavourId: uuid("flavour_id")
      .notNull()
      .references(() => flavours.id, { onDelete: "cascade" }),
    // [a-z0-9-]: shown to devices and in URLs.
    name: text("name").notNull(),
    description: text("description").notNull().default(""),
    /** The release devices in the rollout get. */
    releaseId: uuid("release_id").references((): AnyPgColumn => releases.id, { onDelete: "set null" }),
    /** What devices outside the rollout keep: the release before the current one. */
    previousReleaseId: uuid("previous_release_id").references((): AnyPgColumn => releases.id, { onDelete: "set null" }),
    rolloutPercent: integer("rollout_percent").notNull().default(100),
    pausedAt: timestamp("paused_at", { withTimezone: true }),
    pauseReason: text("pause_reason"),
    /** Set when failed upgrade reports passed the threshold: the rollout stopped by itself until resumed. */
    haltedAt: timestamp("halted_at", { withTimezone: true }),
    haltReason: text("halt_reason"),
    /** Share of failed upgrade reports on the current release (percent) that halts the rollout… */
    failureThresholdPercent: integer("failure_threshold_percent").notNull().default(20),
    /** …once at least this many devices reported on it. */
    failureMinReports: integer("failure_min_reports").notNull().default(5),
    /** Reports before this (the approval, rollback or resume) do not count towards a halt: a resumed rollout starts afresh. */
    reportsCountedFrom: timestamp("reports_counted_from", { withTimezone: true }).notNull().defaultNow(),
    sequence: bigint("sequence", { mode: "number" }).notNull().default(nextSequence),
    createdBy: uuid("created_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // Names are unique within a flavour.
    uniqueIndex("channels_flavour_name_idx").on(t.flavourId, t.name),
  ],
);

// A request to release a build onto a channel with a version; an admin approves or rejects it.
export const releases = pgTable(
  "releases",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    orgId: uuid("org_id")
      .notNull()
      .references(() => orgs.id, { onDelete: "cascade" }),
    channelId: uuid("channel_id")
      .notNull()
      .references(() => channels.id, { onDelete: "cascade" }),
    // No action, not restrict: a released build cannot be deleted alone, but deleting its flavour or organisation
    // (which deletes the release in the same statement) can.
    buildId: uuid("build_id")
      .notNull()
      .references(() => builds.id, { onDelete: "no action" }),
    version: text("version").notNull(),
    notes: text("notes").notNull().default(""),
    status: text("status", { enum: RELEASE_STATUSES }).notNull().default("pending"),
    /** The image by digest ("<public registry>/<org>/<flavour>@sha256:…"): what devices pull. */
    imageRef: text("image_ref").notNull(),
    imageDigest: text("image_digest").notNull(),
    imageSize: bigint("image_size", { mode: "number" }),
    /** The percentage the approval started at. */
    rolloutPercent: integer("rollout_percent"),
    requestedBy: uuid("requested_by").references(() => users.id, { onDelete: "set null" }),
    requestedAt: timestamp("requested_at", { withTimezone: true }).notNull().defaultNow(),
    decidedBy: uuid("decided_by").references(() => users.id, { onDelete: "set null" }),
    decidedAt: timestamp("decided_at", { withTimezone: true }),
    /** Why it was rejected. */
    decisionReason: text("decision_reason"),
  },
  (t) => [
    // A version names one release of a channel.
    uniqueIndex("releases_channel_version_idx").on(t.channelId, t.version),
    // The approval queue (pending, oldest first) and a channel's history.
    index("releases_status_idx").on(t.status, t.requestedAt),
    index("releases_channel_idx").on(t.channelId, t.requestedAt),
  ],
);

// Tokens a device registers with: shown once, stored as sha256, with an expiry and a use limit.
export const registrationTokens = pgTable(
  "registration_tokens",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    orgId: uuid("org_id")
      .notNull()
      .references(() => orgs.id, { onDelete: "cascade" }),
    channelId: uuid("channel_id")
      .notNull()
      .references(() => channels.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    prefix: text("prefix").notNull(),
    tokenHash: text("token_hash").notNull().unique(),
    expiresAt: timestamp("expires_at", { withTimezone: true }),
    maxUses: integer("max_uses"),
    uses: integer("uses").notNull().default(0),
    lastUsedAt: timestamp("last_used_at", { withTimezone: true }),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
    createdBy: uuid("created_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // The tokens panel of a channel.
    index("registration_tokens_channel_idx").on(t.channelId),
  ],
);

export type Channel = typeof channels.$inferSelect;
export type Release = typeof releases.$inferSelect;
