// pg-boss on the app's database. Jobs are enqueued inside the transaction that writes the row asking for them.
import PgBoss from "pg-boss";
import { sql } from "drizzle-orm";
import type { DbOrTx } from "../db";
import { jobSettings, type JobSettings } from "../config";

export const QUEUES = { build: "build", diskImage: "disk-image" } as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

export interface BuildJob {
  buildId: string;
}

/** A worker's pg-boss: migrates its schema and runs maintenance. */
export function createBoss(connectionString: string): PgBoss {
  return new PgBoss({ connectionString, schema: "pgboss", max: 4, application_name: "strata-jobs" });
}

/**
 * Retry settings of each queue. pg-boss copies them into each job when it is sent, and retries a job only when the
 * job wrapper (lib/jobs/handler.ts) hands it back as an outage; every other failure is final whatever these say.
 * Disk images are not retried: their maker records its own failures.
 */
export function queueRetryOptions(settings: JobSettings = jobSettings()): Record<QueueName, PgBoss.RetryOptions> {
  return {
    build: { retryLimit: settings.buildRetries, retryDelay: settings.retryDelaySeconds, retryBackoff: settings.retryBackoff },
    "disk-image": { retryLimit: 0, retryDelay: 0, retryBackoff: false },
  };
}

/** Creates pg-boss's schema and our queues, or brings their retry settings up to date; run at start by every process (idempotent). */
export async function prepareQueues(connectionString: string, settings: JobSettings = jobSettings()): Promise<void> {
  const boss = new PgBoss({ connectionString, schema: "pgboss", max: 1, supervise: false, schedule: false });
  await boss.start();
  try {
    const retries = queueRetryOptions(settings);
    for (const name of Object.values(QUEUES)) {
      const wanted = retries[name];
      const existing = await boss.getQueue(name);
      if (existing) {
        // Queues made before retries existed have retryLimit 0: new jobs get the settings from here on.
        if (existing.retryLimit !== wanted.retryLimit || existing.retryDelay !== wanted.retryDelay || existing.retryBackoff !== wanted.retryBackoff)
          await boss.updateQueue(name, { name, policy: existing.policy, ...wanted });
        continue;
      }
      await boss.createQueue(name, { name, policy: "standard", ...wanted, expireInSeconds: 4 * 3600 }).catch(async (err) => {
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
