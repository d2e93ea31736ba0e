// vitest globalSetup of the integration project: a real embedded PostgreSQL, fresh for this run, with the migrations applied.
import fs from "node:fs";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { startEmbeddedPostgres } from "../../scripts/dev-stack/postgres";
import { prepareDatabase } from "../db/prepare";

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}

export default async function setup(project: TestProject) {
  if (process.env.TEST_DATABASE_URL) {
    await prepareDatabase(process.env.TEST_DATABASE_URL);
    project.provide("databaseUrl", process.env.TEST_DATABASE_URL);
    return;
  }
  // Under .data/ rather than /tmp: as root the `postgres` user must own the folder, and /tmp may be noexec elsewhere.
  const base = path.resolve(".data/test");
  fs.mkdirSync(base, { recursive: true });
  const root = fs.mkdtempSync(path.join(base, "vitest-pg-"));
  const port = 54_339 + (process.pid % 200);
  const pg = await startEmbeddedPostgres({ root, port, database: "strata_test" });
  await prepareDatabase(pg.url);
  project.provide("databaseUrl", pg.url);
  return async () => {
    await pg.stop();
    fs.rmSync(root, { recursive: true, force: true });
  };
}
