import { bigserial, boolean, index, integer, pgTable, text, timestamp } from "drizzle-orm/pg-core";

// Failed and successful sign-ins, kept in the database (not memory) so the limit holds across web processes.
export const signInAttempts = pgTable(
  "sign_in_attempts",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    email: text("email").notNull(),
    address: text("address").notNull(),
    succeeded: boolean("succeeded").notNull(),
    at: timestamp("at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // Counting recent failures of one account and of one address.
    index("sign_in_attempts_email_idx").on(t.email, t.at),
    index("sign_in_attempts_address_idx").on(t.address, t.at),
  ],
);

// Counters for rate limits (sign-in per account and per address, sign-up per address), updated with one atomic
// upsert each, so parallel requests cannot pass a limit between counting and recording.
export const rateLimits = pgTable("rate_limits", {
  // "<kind>:<value>", e.g. "sign-in-account:ana@example.com", "sign-up-address:203.0.113.7".
  key: text("key").primaryKey(),
  // Hits (failures for sign-in) in the current window.
  hits: integer("hits").notNull().default(0),
  windowStartedAt: timestamp("window_started_at", { withTimezone: true }).notNull().defaultNow(),
  // Backoff: no attempt is checked before this time.
  blockedUntil: timestamp("blocked_until", { withTimezone: true }),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
});
