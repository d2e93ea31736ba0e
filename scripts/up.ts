// `npm run up`: database, Docker engine, registry, web and worker on one machine; Ctrl-C stops everything it started.
import fs from "node:fs";
import path from "node:path";
import { config, dataDir } from "@/lib/config";
import { createDb } from "@/lib/db";
import { prepareDatabase } from "@/lib/db/prepare";
import { adminPassword, ensureAdmin } from "@/lib/auth/seed-admin";
import { startEmbeddedPostgres } from "@/scripts/dev-stack/postgres";
import { embeddedPgRoot } from "@/lib/db/database-url";
import { ensureDockerEngine } from "@/scripts/dev-stack/docker";
import { ensureRegistry } from "@/scripts/dev-stack/registry";
import { ensureNextBuild } from "@/scripts/dev-stack/next-build";
import { httpsAnswers, supervise, waitFor, type Supervised } from "@/scripts/dev-stack/processes";
import { loadOrCreateTls } from "@/lib/tls/local-ca";

const log = (msg: string) => console.log(`[up] ${msg}`);
const stackLog = { debug: () => {}, info: log, warn: log, error: log };
const stops: Array<{ name: string; stop: () => Promise<void> }> = [];
const supervised: Supervised[] = [];

async function main() {
  const data = dataDir();
  fs.mkdirSync(data, { recursive: true });
  // A plain-HTTP address on the network is refused now, not after the web server has failed to start a few times.
  const plainHttp = config.httpPort > 0 ? `http://${config.httpHost}:${config.httpPort}` : null;

  // 1. Database
  let databaseUrl = process.env.DATABASE_URL;
  if (databaseUrl) {
    log("using DATABASE_URL");
  } else {
    const pg = await startEmbeddedPostgres({ root: embeddedPgRoot(data), port: config.embeddedPgPort, log: (l) => process.env.STRATA_VERBOSE && log(`postgres: ${l}`) });
    databaseUrl = pg.url;
    if (pg.started) stops.push({ name: "PostgreSQL", stop: pg.stop });
    log(`PostgreSQL on 127.0.0.1:${config.embeddedPgPort} (data in ${path.relative(process.cwd(), embeddedPgRoot(data))}/)`);
  }
  await prepareDatabase(databaseUrl);
  const { db, pool } = createDb(databaseUrl, { max: 2 });
  const password = adminPassword(data);
  await ensureAdmin(db, { email: config.adminEmail, password });
  await pool.end();

  // 2. Build engine and registry: the portal still runs without them, builds wait until they answer.
  const childEnv: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: databaseUrl, NODE_ENV: "production", NEXT_TELEMETRY_DISABLED: "1" };
  try {
    const engine = await ensureDockerEngine({ dataDir: data, log: stackLog });
    if (engine.started) stops.push({ name: "dockerd", stop: engine.stop });
    log(engine.started ? "started dockerd" : `using the Docker engine at ${process.env.DOCKER_HOST ?? "/var/run/docker.sock"}`);
  } catch (err) {
    log(`warning: no Docker engine: ${(err as Error).message}. The portal runs; builds wait until an engine answers.`);
  }
  try {
    const registry = await ensureRegistry({ dataDir: data, log: stackLog });
    if (registry.started) stops.push({ name: "registry", stop: registry.stop });
    childEnv.REGISTRY_URL = registry.url;
    log(`${registry.started ? "started" : "using"} the OCI registry at ${registry.url}`);
  } catch (err) {
    log(`warning: no registry: ${(err as Error).message}. The portal runs; pushes fail until a registry answers.`);
  }

  // 3. TLS, the web app, the worker
  const tls = loadOrCreateTls(data, (process.env.TLS_HOSTS ?? "").split(",").filter(Boolean));
  if (process.env.STRATA_DEV !== "1") ensureNextBuild(log);
  // A crash of either is theirs alone: it is restarted (with a growing delay while it keeps crashing) and everything
  // else stays up; Ctrl-C stops them for good.
  for (const [name, script] of [["web", "scripts/web.ts"], ["worker", "workers/index.ts"]] as const) {
    const child = supervise(name, script, childEnv, { log });
    supervised.push(child);
    stops.push({ name, stop: () => child.stop() });
  }

  const url = config.publicUrl;
  await waitFor("the web server", () => httpsAnswers(`https://127.0.0.1:${config.port}/api/health`), 180_000);
  const banner = [
    "",
    "  Strata is running.",
    `  Portal:    ${url}`,
    tls.caPath ? `  Local CA:  ${tls.caPath}  (trust it in your browser; devices pin it)` : "  TLS:       TLS_CERT / TLS_KEY",
    `  Admin:     ${config.adminEmail}`,
    `  Password:  ${password}${process.env.STRATA_ADMIN_PASSWORD ? "  (from STRATA_ADMIN_PASSWORD)" : `  (kept in ${path.relative(process.cwd(), path.join(data, "admin-password"))})`}`,
    plainHttp ? `  Plain HTTP (this machine's scripts and API tokens): ${plainHttp}` : "",
    "  Press Ctrl-C to stop everything this started.",
    "",
  ].filter((l) => l !== "");
  console.log(banner.join("\n"));
}

let shuttingDown = false;
async function shutdown(code: number) {
  if (shuttingDown) return;
  shuttingDown = true;
  // Ctrl-C reaches the web server and the worker too: their exit now is no crash.
  for (const child of supervised) child.stopRestarting();
  log("stopping…");
  for (const part of stops.reverse()) {
    try {
      await part.stop();
      log(`stopped ${part.name}`);
    } catch (err) {
      log(`could not stop ${part.name}: ${(err as Error).message}`);
    }
  }
  process.exit(code);
}

process.on("SIGINT", () => void shutdown(0));
process.on("SIGTERM", () => void shutdown(0));

main().catch(async (err) => {
  console.error(`[up] ${err instanceof Error ? err.message : err}`);
  await shutdown(1);
});
