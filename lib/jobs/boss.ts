// pg-boss on the app's database. Jobs are enqueued inside the transaction that writes the row asking for them.
import PgBoss from "pg-boss";
import { sql } from "drizzle-orm";
import type { DbOrTx } from "../db";

export const QUEUES = { build: "build", diskImage: "disk-image" } as const;

export interface BuildJob {
  buildId: string;
}

/** A worker's pg-boss: migrates its schema and runs maintenance. */
export function createBoss(connectionString: string): PgBoss {
  return new PgBoss({ connectionString, schema: "pgboss", max: 4, application_name: "strata-jobs" });
}

/** Creates pg-boss's schema and our queues; run at start by every process (idempotent). */
export async function prepareQueues(connectionString: string): Promise<void> {
  const boss = new PgBoss({ connectionString, schema: "pgboss", max: 1, supervise: false, schedule: false });
  await boss.start();
  try {
    for (const name of Object.values(QUEUES)) {
      if (await boss.getQueue(name)) continue;
      // Retries are ours to decide (the Retry button, the reaper), so pg-boss does not retry on its own.
      await boss.createQueue(name, { name, policy: "standard", retryLimit: 0, expireInSeconds: 4 * 3600 }).catch(async (err) => {
        // Another process starting at the same moment created it.
        if (!(await boss.getQueue(name))) throw err;
      });
    }
  } finally {
    await boss.stop({ graceful: false, wait: true });
  }
}

const globalForBoss = globalThis as unknown as { strataBoss?: Promise<PgBoss> };

/** The web process's pg-boss: only sends and cancels (no maintenance, no polling). */
export function getSenderBoss(): Promise<PgBoss> {
  globalForBoss.strataBoss ??= (async () => {
    const url = process.env.DATABASE_URL;
    if (!url) throw new Error("DATABASE_URL is not set");
    const boss = new PgBoss({ connectionString: url, schema: "pgboss", max: 2, supervise: false, schedule: false, migrate: false });
    boss.on("error", (err) => console.error("[jobs] pg-boss:", err.message));
    await boss.start();
    return boss;
  })();
  return globalForBoss.strataBoss;
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
        // As one parameter each: drizzle would expand arrays into lists and drop undefined (pg-boss means NULL).
        else query.append(sql`${sql.param(values[Number(parts[i]) - 1] ?? null)}`);
      }
      const result = await db.execute(query);
      return { rows: result.rows as never[] };
    },
  };
}
