import { index, pgTable, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { users } from "./users";

// Identities from an identity provider, linked to a user by (issuer, subject): never by e-mail alone.
export const accounts = pgTable(
  "accounts",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    // The next-auth provider id ("oidc").
    provider: text("provider").notNull(),
    // The identity provider's issuer URL and its stable id for the person (`sub`).
    issuer: text("issuer").notNull(),
    subject: text("subject").notNull(),
    // The verified e-mail the provider gave at the last sign-in (for display; never used to link).
    email: text("email"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    lastSignInAt: timestamp("last_sign_in_at", { withTimezone: true }),
  },
  (t) => [uniqueIndex("accounts_issuer_subject_idx").on(t.issuer, t.subject), index("accounts_user_idx").on(t.userId)],
);

export type Account = typeof accounts.$inferSelect;
