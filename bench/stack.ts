// The real Strata stack for a benchmark, started the way `npm test` starts it but on ports and data of the bench's own:
// embedded PostgreSQL, the Docker engine, a registry, the web server and one worker; plus a small REST client.
// Benches that need less (bench/channel.ts: PostgreSQL and the web server) start only that.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { eq } from "drizzle-orm";
import type Dockerode from "dockerode";
import { createDb } from "@/lib/db";
import { users } from "@/lib/db/schema";
import { prepareDatabase } from "@/lib/db/prepare";
import { ensureAdmin } from "@/lib/auth/seed-admin";
import { signUp } from "@/lib/auth/sign-up";
import { loadActor } from "@/lib/auth/actor";
import { createToken } from "@/lib/auth/tokens";
import type { Logger } from "@/lib/log";
import { DEFAULT_BASE_IMAGE, ensureBaseImage } from "@/lib/builder/base-image";
import { cacheTag, removeImage } from "@/lib/builder/engine/images";
import { fetchAgainOnStaleSocket } from "@/lib/testing/fetch-again";
import { removeImageTrees } from "./images";
import { startEmbeddedPostgres } from "@/scripts/dev-stack/postgres";
import { ensureDockerEngine } from "@/scripts/dev-stack/docker";
import { ensureRegistry, type RegistryService } from "@/scripts/dev-stack/registry";
import { ensureNextBuild } from "@/scripts/dev-stack/next-build";
import { startProcess, waitFor, type Managed } from "@/scripts/dev-stack/processes";

/** What was started, stopped in reverse order; each step runs once, whether the bench succeeded, failed or was interrupted. */
export class Teardown {
  private readonly steps: { what: string; run: () => Promise<unknown> }[] = [];

  defer(what: string, run: () => Promise<unknown>): void {
    this.steps.push({ what, run });
  }

  async run(log: (msg: string) => void): Promise<void> {
    for (let step = this.steps.pop(); step; step = this.steps.pop()) {
      try {
        await step.run();
      } catch (err) {
        log(`could not ${step.what}: ${(err as Error).message}`);
      }
    }
  }
}

/** The REST API as a script calls it: `Authorization: Bearer` over the plain-HTTP port; errors carry the API's message. */
export class Api {
  constructor(
    readonly base: string,
    private readonly token: string,
  ) {}

  get<T>(route: string): Promise<T> {
    return this.call<T>("GET", route);
  }

  post<T>(route: string, body: unknown): Promise<T> {
    return this.call<T>("POST", route, body);
  }

  /** The raw response, for downloads. */
  fetch(route: string, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(`${this.base}/api/v1${route}`, { headers: { authorization: `Bearer ${this.token}`, ...headers } });
  }

  private async call<T>(method: string, route: string, body?: unknown): Promise<T> {
    const res = await fetchAgainOnStaleSocket(`${this.base}/api/v1${route}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) {
      let message = text.slice(0, 300);
      try {
        message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? message;
      } catch {
        // not JSON: keep the text
      }
      throw new Error(`${method} /api/v1${route}: HTTP ${res.status}: ${message}`);
    }
    return (text ? JSON.parse(text) : null) as T;
  }
}

export interface Services {
  docker: Dockerode;
  registry: RegistryService;
  databaseUrl: string;
}

/** A port nobody listens on now, on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const loggerOf = (log: (msg: string) => void): Logger => ({ debug: () => {}, info: log, warn: log, error: log });

const hasCommand = (bin: string) => spawnSync("sh", ["-c", `command -v ${bin}`], { stdio: "ignore" }).status === 0;

/**
 * The Debian packages that provide each missing command (`[command, package]`), installed the way
 * scripts/bootstrap.mjs installs the stack's: apt-get as root on Debian, else an error saying what to install.
 * (A package with a service, such as nginx-light, may start it on a machine with an init system; the bench does not
 * use that one.)
 */
export function ensureDebianPackages(needs: [command: string, pkg: string][], log: (msg: string) => void): void {
  const missing = needs.filter(([bin]) => !hasCommand(bin));
  if (missing.length === 0) return;
  const pkgs = [...new Set(missing.map(([, pkg]) => pkg))];
  const isDebian = fs.existsSync("/etc/debian_version") && hasCommand("apt-get");
  if (process.getuid?.() !== 0 || !isDebian) {
    const how = isDebian ? `sudo apt-get install -y ${pkgs.join(" ")}` : `install the equivalents of Debian's ${pkgs.join(", ")}`;
    throw new Error(`missing ${missing.map(([bin]) => bin).join(", ")}: ${how} (the bench installs them itself only when run as root on Debian)`);
  }
  log(`installing Debian packages: ${pkgs.join(" ")} (once)…`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const update = spawnSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
  const install = update.status === 0 && spawnSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...pkgs], { stdio: "inherit", env });
  if (!install || install.status !== 0) throw new Error(`apt-get install ${pkgs.join(" ")} failed; install them by hand and run again`);
  const still = missing.filter(([bin]) => !hasCommand(bin));
  if (still.length) throw new Error(`${still.map(([bin]) => bin).join(", ")} still missing after apt-get install ${pkgs.join(" ")}`);
}

/** A fresh embedded PostgreSQL in `runDir` with the migrations and bundled base manifests applied. */
async function startPostgres(runDir: string, teardown: Teardown): Promise<string> {
  const pg = await startEmbeddedPostgres({ root: path.join(runDir, "postgres"), port: await freePort() });
  teardown.defer("stop PostgreSQL", pg.stop);
  await prepareDatabase(pg.url);
  return pg.url;
}

/** Only the database, for benches without builds: `runDir` is made now and removed at the end. */
export async function startDatabase(opts: { runDir: string }, teardown: Teardown): Promise<{ databaseUrl: string }> {
  fs.mkdirSync(opts.runDir, { recursive: true });
  teardown.defer(`remove ${opts.runDir}`, async () => fs.rmSync(opts.runDir, { recursive: true, force: true }));
  return { databaseUrl: await startPostgres(opts.runDir, teardown) };
}

/**
 * The engine (the machine's own, started only when none answers), a registry on `registryPort` with its storage in
 * `runDir`, and a fresh embedded PostgreSQL in `runDir` with the migrations and bundled base manifests applied.
 */
export async function startServices(
  opts: { dataDir: string; runDir: string; registryPort: number; log: (msg: string) => void },
  teardown: Teardown,
): Promise<Services> {
  const logger = loggerOf(opts.log);
  fs.mkdirSync(opts.runDir, { recursive: true });
  teardown.defer(`remove ${opts.runDir}`, async () => fs.rmSync(opts.runDir, { recursive: true, force: true }));
  const engine = await ensureDockerEngine({ dataDir: opts.dataDir, log: logger });
  teardown.defer("stop dockerd", engine.stop);
  const registry = await ensureRegistry({ dataDir: opts.runDir, port: opts.registryPort, log: logger });
  teardown.defer("stop the registry", registry.stop);
  opts.log(`${engine.started ? "started" : "using"} the Docker engine; ${registry.started ? "started" : "using"} the registry at ${registry.url}`);
  const databaseUrl = await startPostgres(opts.runDir, teardown);
  return { docker: engine.docker, registry, databaseUrl };
}

/** A password the sign-up rules accept; nobody signs in with it. */
const throwawayPassword = () => `Bench-${randomBytes(12).toString("base64url")}-9z`;

const tokenOf = async (db: ReturnType<typeof createDb>["db"], userId: string, nonce: string) => (await createToken(db, await loadActor(db, userId, "session"), { name: `bench ${nonce}` })).token;

/** The platform admin and a customer of a new organisation, each with a personal access token (made with the lib, as the settings page would). */
async function makeAccounts(databaseUrl: string, adminEmail: string, nonce: string) {
  const { db, pool } = createDb(databaseUrl, { max: 2 });
  try {
    await ensureAdmin(db, { email: adminEmail, password: throwawayPassword() });
    const [admin] = await db.select({ id: users.id }).from(users).where(eq(users.email, adminEmail));
    const customer = await signUp(db, { email: `bench-${nonce}@bench.strata.test`, name: "Benchmark", organisation: `Bench ${nonce}`, password: throwawayPassword() });
    return { admin: await tokenOf(db, admin.id, nonce), customer: await tokenOf(db, customer.userId, nonce) };
  } finally {
    await pool.end();
  }
}

/** A customer of one more new organisation with a token, for benches that need a second tenant. */
export async function customerOfNewOrg(databaseUrl: string, apiBase: string, nonce: string, label: string): Promise<Api> {
  const { db, pool } = createDb(databaseUrl, { max: 2 });
  try {
    const account = await signUp(db, { email: `bench-${nonce}-${label}@bench.strata.test`, name: `Benchmark ${label}`, organisation: `Bench ${nonce} ${label}`, password: throwawayPassword() });
    return new Api(apiBase, await tokenOf(db, account.userId, `${nonce} ${label}`));
  } finally {
    await pool.end();
  }
}

/** The latest bundled strata-base version: what a user forks by default. */
export async function latestBaseManifest<T>(api: Api): Promise<T> {
  const { baseManifests } = await api.get<{ baseManifests: { id: string; name: string; version: string }[] }>("/base-manifests");
  const [latest] = baseManifests.filter((m) => m.name === "strata-base" && /^\d+$/.test(m.version)).sort((a, b) => Number(b.version) - Number(a.version));
  if (!latest) throw new Error("no bundled strata-base manifest in the database");
  return api.get<T>(`/base-manifests/${latest.id}`);
}

/**
 * Runs a bench's main with a Teardown that stops everything it started, on success, failure or Ctrl-C, and exits
 * with 0 or 1.
 */
export function runBench(main: (teardown: Teardown) => Promise<void>, log: (msg: string) => void): void {
  const teardown = new Teardown();
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= teardown.run(log));
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      log(`${signal}: stopping everything the bench started`);
      void stop().finally(() => process.exit(130));
    });
  }
  const started = performance.now();
  main(teardown)
    .then(
      () => 0,
      (err: unknown) => {
        console.error(`[bench] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        return 1;
      },
    )
    .then(async (code) => {
      await stop();
      log(`done in ${((performance.now() - started) / 60_000).toFixed(1)} min`);
      process.exit(code);
    });
}

export interface Portal {
  /** A customer of a fresh organisation. */
  customer: Api;
  admin: Api;
  /** The web server's HTTPS address (its certificate is from the local CA in `<runDir>/tls`); the Apis use plain HTTP. */
  httpsBase: string;
  /** Throws when the web server or the worker has exited. */
  assertRunning(): void;
  /** The worker's node process (null without a worker). */
  workerPid(): number | null;
}

/**
 * The web server (after `next build` when its sources changed) and ONE worker with the default build settings,
 * as `npm test` starts them; returns when both are ready. `env` is added to theirs (the worker's cache repository).
 * `worker: false` starts the web server alone; without `registry`, REGISTRY_URL is the environment's (or the default).
 */
export async function startPortal(
  services: { databaseUrl: string; registry?: { url: string } },
  opts: { runDir: string; nonce: string; env: Record<string, string>; log: (msg: string) => void; worker?: boolean },
  teardown: Teardown,
): Promise<Portal> {
  const adminEmail = "admin@bench.strata.test";
  const tokens = await makeAccounts(services.databaseUrl, adminEmail, opts.nonce);
  ensureNextBuild(opts.log);
  const [httpsPort, httpPort] = [await freePort(), await freePort()];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: "production",
    NEXT_TELEMETRY_DISABLED: "1",
    DATABASE_URL: services.databaseUrl,
    STRATA_DATA_DIR: opts.runDir,
    HOST: "127.0.0.1",
    PORT: String(httpsPort),
    HTTP_PORT: String(httpPort),
    NEXTAUTH_URL: `https://localhost:${httpsPort}`,
    STRATA_ADMIN_EMAIL: adminEmail,
    ...(services.registry ? { REGISTRY_URL: services.registry.url } : {}),
    STRATA_LOG_REQUESTS: "0",
    ...opts.env,
  };
  const children: Managed[] = [];
  const start = (name: string, script: string) => {
    const child = startProcess(name, script, env);
    children.push(child);
    teardown.defer(`stop the ${name}`, () => child.stop());
    return child;
  };
  start("web", "scripts/web.ts");
  const worker = opts.worker === false ? null : start("worker", "workers/index.ts");
  const assertRunning = () => {
    for (const { name, child } of children) if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the ${name} process exited (${child.exitCode ?? child.signalCode})`);
  };
  const base = `http://127.0.0.1:${httpPort}`;
  let workerReady = worker === null;
  // The worker node process itself (tsx runs it as a child of the process started here), for benches that read its memory.
  let workerPid: number | null = null;
  worker?.child.stdout!.on("data", (chunk: Buffer) => {
    const ready = /\] ready \(pid (\d+)/.exec(chunk.toString());
    if (ready) {
      workerReady = true;
      workerPid = Number(ready[1]);
    }
  });
  const exited = Promise.race(children.map((c) => c.exited.then((code) => Promise.reject(new Error(`the ${c.name} process exited (code ${code}) before it was ready`)))));
  const ready = (async () => {
    await waitFor("the worker", async () => workerReady, 120_000);
    await waitFor("the web server", async () => (await fetch(`${base}/api/health`)).status > 0, 180_000);
  })();
  await Promise.race([ready, exited]);
  return { customer: new Api(base, tokens.customer), admin: new Api(base, tokens.admin), httpsBase: `https://127.0.0.1:${httpsPort}`, assertRunning, workerPid: () => workerPid };
}

/**
 * What both benches start with: a warning when the environment would not give users' defaults, the services, the base
 * image, and the web server and worker with a cache repository of the run's own. `baseCopies` and `cacheKeys` collect
 * the images a bench makes; they are removed after the web server and worker have stopped.
 */
export async function startBenchStack(
  opts: { dataDir: string; runDir: string; nonce: string; registryPort: number; cacheRepository: string; log: (msg: string) => void },
  teardown: Teardown,
): Promise<{ services: Services; portal: Portal; baseCopies: string[]; cacheKeys: Set<string> }> {
  const { log } = opts;
  if (process.env.REGISTRY_URL) log(`ignoring REGISTRY_URL=${process.env.REGISTRY_URL}: the bench pushes to a registry of its own on 127.0.0.1:${opts.registryPort}`);
  delete process.env.REGISTRY_URL;
  const overrides = Object.keys(process.env).filter((name) => /^STRATA_(BUILD_|WORKER_CONCURRENCY|ARTEFACT_COMPRESSION|EXTRACT_)/.test(name));
  if (overrides.length) log(`warning: ${overrides.join(", ")} set: the worker does not run with the defaults users get`);

  const services = await startServices({ dataDir: opts.dataDir, runDir: opts.runDir, registryPort: opts.registryPort, log }, teardown);
  const baseCopies: string[] = [];
  const cacheKeys = new Set<string>();
  // Deferred before the web and worker start, so it runs after they have stopped.
  teardown.defer("remove the bench's images", async () => {
    const removed = await removeImageTrees(services.docker, baseCopies);
    // Normally gone with the trees already (a cache image's parent is the image it was built on).
    for (const key of cacheKeys) await removeImage(services.docker, cacheTag(key), undefined, { force: true });
    log(`removed the bench's images: ${removed} built on its base copies, ${cacheKeys.size} cache keys`);
  });
  const base = await ensureBaseImage(services.docker, DEFAULT_BASE_IMAGE, { workDir: opts.dataDir, log: loggerOf(log) });
  log(`base image ${DEFAULT_BASE_IMAGE}: ${base.slice(0, 19)}`);
  const portal = await startPortal(services, { runDir: opts.runDir, nonce: opts.nonce, env: { STRATA_CACHE_REPOSITORY: opts.cacheRepository }, log }, teardown);
  return { services, portal, baseCopies, cacheKeys };
}
