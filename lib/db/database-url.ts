// Where the database is: DATABASE_URL, else the embedded PostgreSQL that `npm run up` keeps in .data/.
import fs from "node:fs";
import path from "node:path";
import { config } from "../config";

export const embeddedPgRoot = (dataDir = config.dataDir) => path.join(dataDir, "postgres");

export function resolveDatabaseUrl(): string {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
  const passwordFile = path.join(embeddedPgRoot(), "password");
  if (fs.existsSync(passwordFile)) {
    const password = fs.readFileSync(passwordFile, "utf8").trim();
    return `postgres://postgres:${password}@127.0.0.1:${config.embeddedPgPort}/strata`;
  }
  throw new Error("No database: set DATABASE_URL, or run `npm run up` once so the embedded PostgreSQL exists in .data/.");
}
