import { sql } from "drizzle-orm";
import { index, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { users } from "./users";
import { orgs } from "./orgs";

export const apiTokens = pgTable(
  "api_tokens",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    orgId: uuid("org_id")
      .notNull()
      .references(() => orgs.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    // The first characters of the token, shown in lists so people can tell tokens apart.
    prefix: text("prefix").notNull(),
    // sha256 of the whole token; the token itself is shown once and never stored.
    tokenHash: text("token_hash").notNull().unique(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp("expires_at", { withTimezone: true }),
    lastUsedAt: timestamp("last_used_at", { withTimezone: true }),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
    // What the token may do: "read" (GET), "write" (everything else a customer may do), "admin" (admin routes).
    scopes: text("scopes").array().notNull().default(sql`'{read}'::text[]`),
  },
  (t) => [
    // The token list of a user.
    index("api_tokens_user_idx").on(t.userId),
  ],
);

export type ApiToken = typeof apiTokens.$inferSelect;
