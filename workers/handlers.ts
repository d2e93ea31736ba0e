// Job handlers of the worker. Each registers its queue and returns a stop function.
import type PgBoss from "pg-boss";
import type { Db } from "@/lib/db";

export interface WorkerContext {
  boss: PgBoss;
  db: Db;
  log: (msg: string) => void;
}

export async function registerHandlers(_ctx: WorkerContext): Promise<() => Promise<void>> {
  // Build jobs arrive with the build-workers feature.
  return async () => {};
}
