import { bigserial, boolean, index, pgTable, text, timestamp } from "drizzle-orm/pg-core";

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
