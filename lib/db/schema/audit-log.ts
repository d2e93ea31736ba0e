import { bigserial, index, jsonb, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";

// Who did what: token and device changes, approvals, channel moves. Written in the transaction of the change.
export const auditLog = pgTable(
  "audit_log",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    orgId: uuid("org_id"),
    actorUserId: uuid("actor_user_id"),
    action: text("action").notNull(),
    subject: text("subject"),
    /** The channel a release, rollout, token or device change concerns: the channel page shows its own history. */
    channelId: uuid("channel_id"),
    detail: jsonb("detail"),
    at: timestamp("at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // The audit page of one organisation, newest first, paged by id (listAudit).
    index("audit_log_org_idx").on(t.orgId, t.id),
    // The history on a channel's page, newest first, paged by id.
    index("audit_log_channel_idx").on(t.channelId, t.id),
  ],
);
