import { index, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { orgs } from "./orgs";

export const ROLES = ["customer", "admin"] as const;
export type Role = (typeof ROLES)[number];

export const users = pgTable(
  "users",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    orgId: uuid("org_id")
      .notNull()
      .references(() => orgs.id, { onDelete: "cascade" }),
    // Stored lower-cased; unique across the platform.
    email: text("email").notNull().unique(),
    name: text("name").notNull(),
    // Null for accounts that only sign in through OIDC.
    passwordHash: text("password_hash"),
    role: text("role", { enum: ROLES }).notNull().default("customer"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // Listing an organisation's members.
    index("users_org_idx").on(t.orgId),
  ],
);

export type User = typeof users.$inferSelect;
