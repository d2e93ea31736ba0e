// `npm test`: unit and integration tests (vitest, real PostgreSQL, dockerd and registry), then browser tests
// (Playwright on Debian's Chromium) and boot tests (QEMU) against the real web server and worker. Stops everything it
// started. `npm test -- unit`, `integration`, `browser`, `boot` or `typecheck` run only those suites; `typecheck` runs
// ESLint too (`lint` runs ESLint alone).
import fs from "node:fs";
import path from "node:path";
import { spawn } from "node:child_process";
import { ESLint } from "eslint";
import { createDb } from "@/lib/db";
import { prepareDatabase } from "@/lib/db/prepare";
import { ensureAdmin } from "@/lib/auth/seed-admin";
import { startEmbeddedPostgres } from "@/scripts/dev-stack/postgres";
import { ensureDockerEngine } from "@/scripts/dev-stack/docker";
import { ensureRegistry } from "@/scripts/dev-stack/registry";
import { ensureNextBuild } from "@/scripts/dev-stack/next-build";
import { httpsAnswers, startProcess, waitFor, type Managed } from "@/scripts/dev-stack/processes";

const log = (msg: string) => console.log(`[test] ${msg}`);
const stackLog = { debug: () => {}, info: log, warn: log, error: log };
const stops: Array<() => Promise<void>> = [];
const args = process.argv.slice(2);
// Spec files named after the suites (`npm test -- browser playwright/channels.spec.ts`) narrow the browser run.
const specs = args.filter((a) => a.endsWith(".spec.ts"));
const suites = args.filter((a) => !specs.includes(a));
const only = (name: string) => suites.length === 0 || suites.includes(name);

export const E2E = {
  port: 3543,
  pgPort: 54_359,
  dataDir: path.resolve(".data/test/e2e"),
  adminEmail: "admin@strata.test",
  adminPassword: "Admin-Test-Password-1",
  // playwright/oidc.spec.ts runs an OpenID Connect provider (oidc-provider) here while its tests run.
  oidcPort: 3597,
};

/** Machine-readable reports of each suite, read back for the recap at the end. */
const REPORTS = path.resolve(".data/test/reports");
const vitestArgs = (project: string) => ["run", "--project", project, "--reporter=default", "--reporter=json", `--outputFile.json=${path.join(REPORTS, `${project}.json`)}`];

interface JsonAssertion {
  fullName?: string;
  title?: string;
  status: string;
  failureMessages?: string[];
}

/** The failed tests of a vitest or Playwright JSON report: name and the first lines of the failure. */
function failedTests(report: unknown): Array<{ name: string; message: string }> {
  const out: Array<{ name: string; message: string }> = [];
  // The message and the test's own frames; the runner's frames say nothing.
  const firstLines = (text: string) =>
    text
      .split("\n")
      .filter((line) => !/^\s*at .*(node_modules|node:internal|<anonymous>)/.test(line))
      .slice(0, 12)
      .join("\n");
  const r = report as { testResults?: Array<{ name: string; status: string; message?: string; assertionResults?: JsonAssertion[] }>; suites?: unknown[] };
  for (const file of r.testResults ?? []) {
    const failed = (file.assertionResults ?? []).filter((a) => a.status === "failed");
    for (const a of failed) out.push({ name: `${path.relative(process.cwd(), file.name)} > ${a.fullName ?? a.title}`, message: firstLines((a.failureMessages ?? []).join("\n")) });
    // A file that failed outside any test (an import error, a hook).
    if (failed.length === 0 && file.status === "failed") out.push({ name: path.relative(process.cwd(), file.name), message: firstLines(file.message ?? "") });
  }
  // Playwright: suites → specs → tests → results.
  type PwSuite = { title: string; file?: string; specs?: Array<{ title: string; file: string; ok: boolean; tests: Array<{ results: Array<{ status: string; error?: { message?: string } }> }> }>; suites?: PwSuite[] };
  const walk = (suite: PwSuite) => {
    for (const spec of suite.specs ?? [])
      if (!spec.ok) {
        const error = spec.tests.flatMap((t) => t.results).find((res) => res.error)?.error?.message ?? "";
        out.push({ name: `${spec.file} > ${spec.title}`, message: firstLines(error) });
      }
    for (const child of suite.suites ?? []) walk(child);
  };
  for (const suite of (r.suites ?? []) as PwSuite[]) walk(suite);
  // ESLint: an array of files with their findings.
  if (Array.isArray(report))
    for (const file of report as ESLint.LintResult[])
      for (const m of file.messages) out.push({ name: `${path.relative(process.cwd(), file.filePath)}:${m.line}:${m.column} ${m.ruleId ?? ""}`, message: m.message });
  return out;
}

/** The end of the output names what failed, so a log cut to its last lines still says which tests and why. */
function recap(failures: string[]) {
  for (const suite of failures) {
    const file = path.join(REPORTS, `${suite}.json`);
    if (!fs.existsSync(file)) continue;
    try {
      const failed = failedTests(JSON.parse(fs.readFileSync(file, "utf8")));
      if (failed.length === 0) continue;
      log(`${suite}: ${failed.length} failed`);
      for (const f of failed.slice(0, 10)) console.log(`  ✗ ${f.name}\n${f.message.replace(/\x1b\[[0-9;]*m/g, "").replace(/^/gm, "      ")}`);
    } catch (err) {
      log(`could not read ${file}: ${(err as Error).message}`);
    }
  }
}

function run(cmd: string, cmdArgs: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(cmd, cmdArgs, { stdio: "inherit", env });
    child.on("exit", (code) => resolve(code ?? 1));
  });
}

/** ESLint over the project (eslint.config.mjs): prints its findings and keeps them for the recap; any finding, a
 * warning too, fails the run. */
async function lint(): Promise<number> {
  const eslint = new ESLint({ cwd: process.cwd() });
  const results = await eslint.lintFiles(["."]);
  const text = await (await eslint.loadFormatter("stylish")).format(results);
  if (text) console.log(text);
  const withFindings = results.filter((r) => r.messages.length > 0);
  fs.writeFileSync(path.join(REPORTS, "lint.json"), JSON.stringify(withFindings));
  return withFindings.length === 0 ? 0 : 1;
}

async function startStack(): Promise<Record<string, string>> {
  const data = path.resolve(".data/test");
  fs.mkdirSync(data, { recursive: true });
  const engine = await ensureDockerEngine({ dataDir: data, log: stackLog });
  if (engine.started) stops.push(engine.stop);
  // A registry of the test run's own (port 5055), so tests never push into the one `npm run up` serves.
  const registry = process.env.REGISTRY_URL ? await ensureRegistry({ dataDir: data, log: stackLog }) : await ensureRegistry({ dataDir: data, log: stackLog, port: 5055 });
  if (registry.started) stops.push(registry.stop);
  return { REGISTRY_URL: registry.url };
}

/** The web server and a worker on a fresh database, as users get them; shared by the browser and the boot tests. */
async function startPortal(stackEnv: Record<string, string>): Promise<NodeJS.ProcessEnv> {
  fs.rmSync(E2E.dataDir, { recursive: true, force: true });
  fs.mkdirSync(E2E.dataDir, { recursive: true });
  const pg = await startEmbeddedPostgres({ root: path.join(E2E.dataDir, "postgres"), port: E2E.pgPort });
  stops.push(pg.stop);
  await prepareDatabase(pg.url);
  const { db, pool } = createDb(pg.url, { max: 1 });
  await ensureAdmin(db, { email: E2E.adminEmail, password: E2E.adminPassword });
  await pool.end();

  ensureNextBuild(log);
  const baseUrl = `https://localhost:${E2E.port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...stackEnv,
    NODE_ENV: "production",
    DATABASE_URL: pg.url,
    STRATA_DATA_DIR: E2E.dataDir,
    PORT: String(E2E.port),
    HTTP_PORT: "0",
    NEXTAUTH_URL: baseUrl,
    STRATA_ADMIN_EMAIL: E2E.adminEmail,
    STRATA_LOG_REQUESTS: "0",
    // Single sign-on against the provider playwright/oidc.spec.ts starts (the sign-in page offers it to every spec).
    OIDC_ISSUER: `http://127.0.0.1:${E2E.oidcPort}`,
    OIDC_CLIENT_ID: "strata-e2e",
    OIDC_CLIENT_SECRET: "strata-e2e-client-secret-0123456789",
    OIDC_NAME: "Test IdP",
    // Every spec signs up from 127.0.0.1; the limit itself is tested in lib/auth/auth.int.test.ts.
    STRATA_SIGN_UP_MAX_PER_ADDRESS: "1000",
    // Virtual machines of the boot test reach this host as 10.0.2.2 (QEMU user-mode networking).
    TLS_HOSTS: "10.0.2.2",
  };
  const children: Managed[] = [startProcess("web", "scripts/web.ts", env), startProcess("worker", "workers/index.ts", env)];
  for (const child of children) stops.push(() => child.stop());
  await waitFor("the web server", () => httpsAnswers(`${baseUrl}/api/health`), 120_000);
  return { ...env, BASE_URL: baseUrl, E2E_ADMIN_EMAIL: E2E.adminEmail, E2E_ADMIN_PASSWORD: E2E.adminPassword };
}

function browserTests(env: NodeJS.ProcessEnv): Promise<number> {
  return run(path.resolve("node_modules/.bin/playwright"), ["test", "--reporter=list,json", ...specs], { ...env, PLAYWRIGHT_JSON_OUTPUT_NAME: path.join(REPORTS, "browser.json") });
}

/** Builds the base manifest with its kernel, makes a disk image and boots it in QEMU (lib/**\/*.boot.test.ts). */
function bootTests(env: NodeJS.ProcessEnv): Promise<number> {
  const ca = path.join(E2E.dataDir, "tls", "ca.pem");
  return run("node_modules/.bin/vitest", vitestArgs("boot"), { ...env, NODE_ENV: "test", NODE_EXTRA_CA_CERTS: ca, STRATA_PORTAL_URL: env.BASE_URL });
}

async function main(): Promise<number> {
  const failures: string[] = [];
  fs.rmSync(REPORTS, { recursive: true, force: true });
  fs.mkdirSync(REPORTS, { recursive: true });
  if (only("typecheck") && (await run("node_modules/.bin/tsc", ["--noEmit", "-p", "."], process.env)) !== 0) failures.push("typecheck");
  if ((only("typecheck") || only("lint")) && (await lint()) !== 0) failures.push("lint");
  // `npm test -- typecheck` or `lint` needs no database, dockerd or registry.
  const stackEnv = ["unit", "integration", "browser", "boot"].some((suite) => only(suite)) ? await startStack() : {};
  const env = { ...process.env, ...stackEnv };
  if (only("unit") && (await run("node_modules/.bin/vitest", vitestArgs("unit"), env)) !== 0) failures.push("unit");
  if (only("integration") && (await run("node_modules/.bin/vitest", vitestArgs("integration"), env)) !== 0) failures.push("integration");
  if (only("browser") || only("boot")) {
    const portalEnv = await startPortal(stackEnv);
    if (only("browser") && (await browserTests(portalEnv)) !== 0) failures.push("browser");
    if (only("boot") && (await bootTests(portalEnv)) !== 0) failures.push("boot");
  }
  recap(failures);
  log(failures.length === 0 ? "all test suites passed" : `failed: ${failures.join(", ")}`);
  return failures.length === 0 ? 0 : 1;
}

async function stopAll() {
  for (const stop of stops.reverse()) await stop().catch((err) => log(`stop failed: ${(err as Error).message}`));
}

let exiting = false;
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.on(signal, async () => {
    if (exiting) return;
    exiting = true;
    await stopAll();
    process.exit(130);
  });

main()
  .catch((err) => {
    console.error(`[test] ${err instanceof Error ? err.stack : err}`);
    return 1;
  })
  .then(async (code) => {
    exiting = true;
    await stopAll();
    process.exit(code);
  });
