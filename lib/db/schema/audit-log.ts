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
    detail: jsonb("detail"),
    at: timestamp("at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // The audit page of one organisation, newest first.
    index("audit_log_org_idx").on(t.orgId, t.at),
  ],
);
