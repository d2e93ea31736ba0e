// The worker process: connects pg-boss to the app's database and runs the job handlers until SIGTERM.
import { createDb } from "@/lib/db";
import { jobSettings } from "@/lib/config";
import { prepareDatabase } from "@/lib/db/prepare";
import { createBoss } from "@/lib/jobs/boss";
import { resolveDatabaseUrl } from "@/lib/db/database-url";
import { onParentGone } from "@/lib/parent-watch";
import { registerHandlers } from "./handlers";

const log = (msg: string) => console.log(`[worker] ${msg}`);

async function main() {
  const url = resolveDatabaseUrl();
  await prepareDatabase(url);
  // Held for the worker's life: the queued-build and cancel listeners; for a build's life: its key lock; the rest
  // serve queries. So the pool grows with the builds run at once.
  const { db, pool } = createDb(url, { max: 5 + jobSettings().workerConcurrency });
  const boss = createBoss(url);
  boss.on("error", (err) => console.error("[worker] pg-boss:", err.message));
  await boss.start();
  const stopHandlers = await registerHandlers({ boss, db, pool, log });
  log(`ready (pid ${process.pid})`);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: finishing current jobs and stopping`);
    await stopHandlers();
    await boss.stop({ graceful: true, wait: true, timeout: 30_000 });
    await pool.end();
    log("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
  // Started by a wrapper (tsx under `npm run up`) that was killed: stop rather than work on beside its replacement.
  onParentGone(() => void shutdown("the process that started the worker is gone"));
}

main().catch((err) => {
  console.error("[worker] failed to start:", err instanceof Error ? err.message : err);
  process.exit(1);
});
