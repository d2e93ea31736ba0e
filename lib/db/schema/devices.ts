// Devices registered on a channel, and the upgrade results they report.
import { sql } from "drizzle-orm";
import { bigint, bigserial, index, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { orgs } from "./orgs";
import { channels, registrationTokens, releases } from "./channels";

export const UPGRADE_RESULTS = ["success", "failure", "none"] as const;
export type UpgradeResult = (typeof UPGRADE_RESULTS)[number];

export const devices = pgTable(
  "devices",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    orgId: uuid("org_id")
      .notNull()
      .references(() => orgs.id, { onDelete: "cascade" }),
    // A channel with devices cannot be deleted (move them first); deleting the organisation deletes both.
    channelId: uuid("channel_id")
      .notNull()
      .references(() => channels.id, { onDelete: "no action" }),
    name: text("name").notNull(),
    /** sha256 of the device secret (256-bit random, so a fast hash is enough). */
    secretHash: text("secret_hash").notNull().unique(),
    registrationTokenId: uuid("registration_token_id").references(() => registrationTokens.id, { onDelete: "set null" }),
    /** Mechanism (b): an explicit image reference that overrides the channel. */
    pinnedReference: text("pinned_reference"),
    /** Bumped (from the channel document sequence) on pins and channel moves, so the device's document changes. */
    sequence: bigint("sequence", { mode: "number" }).notNull().default(sql`nextval('channel_document_sequence')`),
    registeredAt: timestamp("registered_at", { withTimezone: true }).notNull().defaultNow(),
    lastSeenAt: timestamp("last_seen_at", { withTimezone: true }),
    lastAddress: text("last_address"),
    currentDigest: text("current_digest"),
    currentVersion: text("current_version"),
    lastResult: text("last_result", { enum: UPGRADE_RESULTS }),
    lastMessage: text("last_message"),
    lastReportAt: timestamp("last_report_at", { withTimezone: true }),
    agentVersion: text("agent_version"),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
  },
  (t) => [
    // The inventory of a channel and of an organisation.
    index("devices_channel_idx").on(t.channelId),
    // The inventory pages by (registered_at, id) (listDevices).
    index("devices_org_idx").on(t.orgId, t.registeredAt, t.id),
  ],
);

// Every status report a device sent; the failure share of a release is counted from here.
export const deviceReports = pgTable(
  "device_reports",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    deviceId: uuid("device_id")
      .notNull()
      .references(() => devices.id, { onDelete: "cascade" }),
    channelId: uuid("channel_id")
      .notNull()
      .references(() => channels.id, { onDelete: "cascade" }),
    releaseId: uuid("release_id").references(() => releases.id, { onDelete: "set null" }),
    result: text("result", { enum: UPGRADE_RESULTS }).notNull(),
    digest: text("digest"),
    message: text("message"),
    at: timestamp("at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // The auto-halt count of failed reports on one release.
    index("device_reports_release_idx").on(t.releaseId, t.result),
    index("device_reports_device_idx").on(t.deviceId, t.at),
  ],
);

export type Device = typeof devices.$inferSelect;
