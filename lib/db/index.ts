// The drizzle client over a pg Pool. Query functions take `db` (a client or a transaction) so the same code runs in pages, workers and tests.
import pg from "pg";
import { drizzle, type NodePgDatabase } from "drizzle-orm/node-postgres";
import * as schema from "./schema";

export type Db = NodePgDatabase<typeof schema>;
/** A transaction handle; accepted wherever a Db is. */
export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];
export type DbOrTx = Db | Tx;

export function createDb(url: string, opts: { max?: number } = {}): { db: Db; pool: pg.Pool } {
  const pool = new pg.Pool({ connectionString: url, max: opts.max ?? 10 });
  // An idle client losing its connection must not crash the process.
  pool.on("error", (err) => console.error("[db] idle client error:", err.message));
  // The pool listens only to idle clients: a connection dropped while a query or transaction holds it must fail that
  // work (its query rejects), not crash the process with an unhandled 'error' event.
  pool.on("connect", (client) => client.on("error", (err) => console.error("[db] connection lost:", err.message)));
  return { db: drizzle(pool, { schema }), pool };
}

const globalForDb = globalThis as unknown as { strataDb?: { db: Db; pool: pg.Pool } };

/** The process-wide database, from DATABASE_URL. */
export function getDb(): Db {
  if (!globalForDb.strataDb) {
    const url = process.env.DATABASE_URL;
    if (!url) throw new Error("DATABASE_URL is not set: start Strata with `npm run up`, or set it to a PostgreSQL URL.");
    globalForDb.strataDb = createDb(url);
  }
  return globalForDb.strataDb.db;
}

export function getPool(): pg.Pool {
  getDb();
  return globalForDb.strataDb!.pool;
}

export { schema };
