// What every process does with the database at start: apply migrations, create the job queues, load the bundled base manifests.
import { createDb } from "./index";
import { migrateDatabase } from "./migrate";
import { ensureBundledBaseManifests } from "../base-manifests/base-manifests";
import { prepareQueues } from "../jobs/boss";

export async function prepareDatabase(url: string): Promise<void> {
  await migrateDatabase(url);
  await prepareQueues(url);
  const { db, pool } = createDb(url, { max: 1 });
  try {
    await ensureBundledBaseManifests(db);
  } finally {
    await pool.end();
  }
}
