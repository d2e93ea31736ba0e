// Development stack: finds or starts the local Docker engine for `npm run up`, `npm test` and the benchmarks.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import path from "node:path";
import type Dockerode from "dockerode";
import { silentLogger, type Logger } from "../../lib/log";
import { dockerFromEnv, DEFAULT_DOCKER_SOCKET, EngineUnavailableError, pingEngine } from "../../lib/builder/engine/client";

const START_TIMEOUT_MS = 60_000;

export interface DockerEngine {
  docker: Dockerode;
  /** True when this call spawned dockerd; only then does `stop()` do anything. */
  started: boolean;
  stop: () => Promise<void>;
}

/** The full path of a program on PATH (or in the sbin folders root's PATH may lack), or null. */
export function onPath(binary: string): string | null {
  for (const dir of (process.env.PATH ?? "").split(":").concat(["/usr/sbin", "/sbin", "/usr/bin"])) {
    if (!dir) continue;
    const candidate = path.join(dir, binary);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return null;
}

/** Last lines of a log file, for error messages that should say why a daemon did not come up. */
export function logTail(file: string, lines = 20): string {
  try {
    return fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/**
 * Uses the engine at DOCKER_HOST or the default socket when one answers; otherwise starts a local
 * dockerd (default socket and data root, so the imported base image survives between runs).
 */
export async function ensureDockerEngine(opts: { dataDir: string; log?: Logger }): Promise<DockerEngine> {
  const log = opts.log ?? silentLogger;
  const docker = dockerFromEnv();
  const noop = async () => {};

  if (process.env.DOCKER_HOST) {
    // A configured engine is never replaced by a local one: that would hide a misconfiguration.
    if (!(await pingEngine(docker))) {
      throw new EngineUnavailableError(
        `The Docker engine at DOCKER_HOST=${process.env.DOCKER_HOST} does not answer. Start it, or unset DOCKER_HOST to use a local dockerd.`,
      );
    }
    log.debug("using Docker engine from DOCKER_HOST", { host: process.env.DOCKER_HOST });
    return { docker, started: false, stop: noop };
  }
  if (await pingEngine(docker)) {
    log.debug("using running Docker engine", { socket: DEFAULT_DOCKER_SOCKET });
    return { docker, started: false, stop: noop };
  }

  const dockerd = onPath("dockerd");
  if (!dockerd) {
    throw new EngineUnavailableError(
      "No Docker engine answers on /var/run/docker.sock and `dockerd` is not installed. Install it with `apt-get install -y docker.io` (or set DOCKER_HOST to a running engine).",
    );
  }

  fs.mkdirSync(opts.dataDir, { recursive: true });
  const logFile = path.join(opts.dataDir, "dockerd.log");
  const out = fs.openSync(logFile, "a");
  log.info("starting dockerd", { logFile });
  let child: ChildProcess;
  try {
    child = spawn(dockerd, [], { stdio: ["ignore", out, out] });
  } finally {
    fs.closeSync(out);
  }
  const exited = once(child, "exit");
  const state: { exit?: string } = {};
  exited.then(
    ([code, sig]) => (state.exit = `code ${code}, signal ${sig}`),
    (err: Error) => (state.exit = `spawn failed: ${err.message}`),
  );

  const deadline = Date.now() + START_TIMEOUT_MS;
  let exitSeenAt = 0;
  while (!(await pingEngine(docker, 1_000))) {
    // Ours may have exited because another process started dockerd at the same moment (pid file
    // taken): give that one a few seconds to answer before calling it a failure.
    if (state.exit && !exitSeenAt) exitSeenAt = Date.now();
    if (exitSeenAt && Date.now() - exitSeenAt > 5_000) {
      throw new EngineUnavailableError(
        `dockerd exited (${state.exit}) before answering. Last lines of ${logFile}:\n${logTail(logFile)}`,
      );
    }
    if (Date.now() > deadline) {
      child.kill("SIGTERM");
      throw new EngineUnavailableError(
        `dockerd did not answer within ${START_TIMEOUT_MS / 1000}s. Last lines of ${logFile}:\n${logTail(logFile)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  if (state.exit) {
    log.info("another process started dockerd first; using it");
    return { docker, started: false, stop: noop };
  }
  log.info("dockerd is up", { pid: child.pid });

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    log.info("stopping dockerd", { pid: child.pid });
    child.kill("SIGTERM");
    // dockerd stops its containers first (10 s each by default); give it time, then insist.
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    await exited.catch(() => {});
    clearTimeout(timer);
  };
  return { docker, started: true, stop };
}

/**
 * A second Docker engine beside the default one, with its own socket, data root and bridge, as a second worker
 * machine would have (tests of the shared cache use it). Needs root. `stop()` stops it and removes what it made.
 */
export async function startExtraEngine(opts: { name: string; dataDir: string; subnet: string; log?: Logger }): Promise<DockerEngine & { socket: string }> {
  const log = opts.log ?? silentLogger;
  const dockerd = onPath("dockerd");
  if (!dockerd) throw new EngineUnavailableError("`dockerd` is not installed (apt-get install -y docker.io)");
  // Unix socket paths are limited to 108 bytes, and containerd puts its sockets under the exec root.
  const execRoot = fs.mkdtempSync(`/tmp/${opts.name}-`);
  const dataRoot = path.resolve(opts.dataDir, opts.name);
  fs.mkdirSync(dataRoot, { recursive: true });
  const socket = path.join(execRoot, "docker.sock");
  const bridge = opts.name.slice(0, 15);
  const ip = (...args: string[]) => spawnSync("ip", args, { stdio: "ignore" }).status === 0;
  ip("link", "del", bridge);
  if (!ip("link", "add", bridge, "type", "bridge") || !ip("addr", "add", opts.subnet, "dev", bridge) || !ip("link", "set", bridge, "up")) {
    throw new EngineUnavailableError(`could not create the bridge ${bridge} for a second engine (needs root and iproute2)`);
  }
  const logFile = path.join(dataRoot, "dockerd.log");
  const out = fs.openSync(logFile, "a");
  const child = spawn(
    dockerd,
    [
      `--host=unix://${socket}`,
      `--data-root=${path.join(dataRoot, "data")}`,
      `--exec-root=${path.join(execRoot, "exec")}`,
      `--pidfile=${path.join(execRoot, "docker.pid")}`,
      `--bridge=${bridge}`,
      "--iptables=false",
      "--ip-masq=false",
    ],
    { stdio: ["ignore", out, out] },
  );
  fs.closeSync(out);
  const exited = once(child, "exit");
  const { default: Docker } = await import("dockerode");
  const docker = new Docker({ socketPath: socket });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
      await exited.catch(() => {});
      clearTimeout(timer);
    }
    ip("link", "del", bridge);
    fs.rmSync(execRoot, { recursive: true, force: true });
    fs.rmSync(dataRoot, { recursive: true, force: true });
  };
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await pingEngine(docker, 1_000))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      const tail = logTail(logFile);
      await stop();
      throw new EngineUnavailableError(`the second dockerd did not come up:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  log.info("second dockerd is up", { socket });
  return { docker, started: true, stop, socket };
}
