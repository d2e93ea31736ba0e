// Applies the SQL migrations in drizzle/ at start. Serialised with an advisory lock so a web and a worker starting together don't race.
import path from "node:path";
import pg from "pg";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";

const MIGRATION_LOCK = 7_041_990_001;

export async function migrateDatabase(url: string, migrationsFolder = path.resolve(process.cwd(), "drizzle")): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("select pg_advisory_lock($1)", [MIGRATION_LOCK]);
    await migrate(drizzle(client), { migrationsFolder });
  } finally {
    await client.query("select pg_advisory_unlock($1)", [MIGRATION_LOCK]).catch(() => {});
    await client.end();
  }
}
