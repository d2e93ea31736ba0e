// Development stack: finds or starts the local OCI registry for `npm run up`, `npm test` and the benchmarks.
import { spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import path from "node:path";
import { silentLogger, type Logger } from "../../lib/log";
import { parseRegistry, registryAnswers, RegistryUnavailableError, type RegistryEndpoint } from "../../lib/registry/endpoint";
import { logTail, onPath } from "./docker";

export interface RegistryService extends RegistryEndpoint {
  started: boolean;
  stop: () => Promise<void>;
}

const START_TIMEOUT_MS = 30_000;

export interface RegistryConfigOptions {
  storageDir: string;
  port: number;
  /** Require Basic sign-in against this htpasswd file (bcrypt entries only, as docker-registry reads them). */
  htpasswd?: { path: string; realm?: string };
}

/** docker-registry's config.yml for a loopback registry with filesystem storage. */
export function registryConfig(opts: RegistryConfigOptions): string {
  // YAML by hand: the registry's config is tiny and this avoids a dependency on the schema.
  return [
    "version: 0.1",
    "log:",
    "  level: info",
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${JSON.stringify(opts.storageDir)}`,
    "  delete:",
    "    enabled: true",
    "http:",
    `  addr: 127.0.0.1:${opts.port}`,
    "  headers:",
    "    X-Content-Type-Options: [nosniff]",
    ...(opts.htpasswd
      ? ["auth:", "  htpasswd:", `    realm: ${JSON.stringify(opts.htpasswd.realm ?? "strata")}`, `    path: ${JSON.stringify(opts.htpasswd.path)}`]
      : []),
    "",
  ].join("\n");
}

export function writeRegistryConfig(file: string, opts: RegistryConfigOptions): void {
  fs.writeFileSync(file, registryConfig(opts));
}

/**
 * Uses REGISTRY_URL or a registry already answering on 127.0.0.1:<port>; otherwise starts Debian's
 * `docker-registry` with filesystem storage in `<dataDir>/registry`.
 *
 * With `htpasswd` it always starts its own registry, which requires sign-in: one found running
 * would not check the credentials the caller expects.
 */
export async function ensureRegistry(opts: {
  dataDir: string;
  log?: Logger;
  port?: number;
  htpasswd?: RegistryConfigOptions["htpasswd"];
}): Promise<RegistryService> {
  const log = opts.log ?? silentLogger;
  const port = opts.port ?? 5000;
  const noop = async () => {};
  const ownOnly = !!opts.htpasswd;

  if (process.env.REGISTRY_URL && !ownOnly) {
    const endpoint = parseRegistry(process.env.REGISTRY_URL);
    log.debug("using registry from REGISTRY_URL", { url: endpoint.url });
    return { ...endpoint, started: false, stop: noop };
  }
  const local = parseRegistry(`127.0.0.1:${port}`);
  if (await registryAnswers(local.apiBase)) {
    if (ownOnly) throw new RegistryUnavailableError(local.url, "another registry already listens there; pick a free port");
    log.debug("using running registry", { url: local.url });
    return { ...local, started: false, stop: noop };
  }

  const binary = onPath("docker-registry");
  if (!binary) {
    throw new RegistryUnavailableError(
      local.url,
      "nothing answers there and `docker-registry` is not installed; install it with `apt-get install -y docker-registry`",
    );
  }

  const storage = path.resolve(opts.dataDir, "registry");
  fs.mkdirSync(storage, { recursive: true });
  const configFile = path.resolve(opts.dataDir, `registry-${port}.yml`);
  writeRegistryConfig(configFile, { storageDir: storage, port, htpasswd: opts.htpasswd });
  const logFile = path.resolve(opts.dataDir, "registry.log");
  const out = fs.openSync(logFile, "a");
  log.info("starting docker-registry", { configFile, logFile });
  const child = spawn(binary, ["serve", configFile], { stdio: ["ignore", out, out] });
  fs.closeSync(out);

  const state: { exit?: string } = {};
  const exited = once(child, "exit");
  exited.then(
    ([code, sig]) => (state.exit = `code ${code}, signal ${sig}`),
    (err: Error) => (state.exit = `spawn failed: ${err.message}`),
  );
  const deadline = Date.now() + START_TIMEOUT_MS;
  let exitSeenAt = 0;
  while (!(await registryAnswers(local.apiBase, 1_000))) {
    // Ours may have lost the port to a registry another process started at the same moment.
    if (state.exit && !exitSeenAt) exitSeenAt = Date.now();
    if ((exitSeenAt && Date.now() - exitSeenAt > 3_000) || Date.now() > deadline) {
      child.kill("SIGTERM");
      throw new RegistryUnavailableError(
        local.url,
        `docker-registry ${state.exit ? `exited (${state.exit})` : `did not answer within ${START_TIMEOUT_MS / 1000}s`}; last lines of ${logFile}:\n${logTail(logFile)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  if (state.exit) {
    if (ownOnly) {
      throw new RegistryUnavailableError(local.url, `docker-registry exited (${state.exit}) and another registry answers there; last lines of ${logFile}:\n${logTail(logFile)}`);
    }
    log.info("another process started the registry first; using it", { url: local.url });
    return { ...local, started: false, stop: noop };
  }
  log.info("docker-registry is up", { pid: child.pid, url: local.url });

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited.catch(() => {});
    clearTimeout(timer);
  };
  return { ...local, started: true, stop };
}
