// pg-boss on the same database as the app. Jobs are enqueued inside the transaction that writes the row asking for them.
import PgBoss from "pg-boss";
import { sql } from "drizzle-orm";
import type { DbOrTx } from "../db";

export const QUEUES = { build: "build" } as const;

export function createBoss(connectionString: string): PgBoss {
  return new PgBoss({ connectionString, schema: "pgboss", max: 4, application_name: "strata-jobs" });
}

/** Adapts a drizzle client or transaction to pg-boss's `db` option, so `send` joins the caller's transaction. */
export function bossDb(db: DbOrTx): PgBoss.Db {
  return {
    async executeSql(text: string, values: unknown[]) {
      // Rebuild $1..$n placeholders as drizzle parameters.
      const parts = text.split(/\$(\d+)/);
      const query = sql.empty();
      for (let i = 0; i < parts.length; i++) {
        if (i % 2 === 0) query.append(sql.raw(parts[i]));
        else query.append(sql`${values[Number(parts[i]) - 1]}`);
      }
      const result = await db.execute(query);
      return { rows: result.rows as unknown[] as never[] };
    },
  };
}
