// Child processes of `npm run up` and `npm test`: started with a prefix on their output, stopped in reverse order.
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import https from "node:https";

export interface Managed {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  stop(timeoutMs?: number): Promise<void>;
}

export function startProcess(name: string, script: string, env: NodeJS.ProcessEnv, opts: { quiet?: boolean } = {}): Managed {
  const child = spawn(path.resolve("node_modules/.bin/tsx"), [script], { env, stdio: ["ignore", "pipe", "pipe"] });
  const prefix = (stream: NodeJS.ReadableStream, out: NodeJS.WriteStream) => {
    let buffered = "";
    stream.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      if (!opts.quiet) for (const line of lines) out.write(line.startsWith(`[${name}]`) ? `${line}\n` : `[${name}] ${line}\n`);
    });
  };
  prefix(child.stdout!, process.stdout);
  prefix(child.stderr!, process.stderr);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    name,
    child,
    exited,
    async stop(timeoutMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Waits until `check` resolves true, polling; throws with `what` after the timeout. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, intervalMs = 250): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`${what} did not become ready within ${Math.round(timeoutMs / 1000)} s`);
}

/** Whether an HTTPS URL answers below 500; the certificate is not checked (it may come from the local CA). */
export function httpsAnswers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    https
      .get(url, { rejectUnauthorized: false, timeout: 5000 }, (res) => {
        res.resume();
        resolve((res.statusCode ?? 500) < 500);
      })
      .on("error", () => resolve(false))
      .on("timeout", function (this: { destroy(): void }) {
        this.destroy();
      });
  });
}

export interface SupervisedOptions {
  /** The first restart waits this long; each crash soon after the last doubles it, up to maxDelayMs. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** A process that ran this long before crashing counts as healthy: the delay starts over. */
  healthyAfterMs?: number;
  log?: (msg: string) => void;
  /** Starts the process; startProcess with the name, script and env by default (tests pass their own). */
  start?: () => Managed;
}

export interface Supervised {
  name: string;
  /** The process running now. */
  current(): Managed;
  /** How many times it was restarted. */
  restarts(): number;
  /** No restart from now on (a Ctrl-C reaches the children before their supervisor stops them). */
  stopRestarting(): void;
  /** Stops it for good: no restart after this. */
  stop(timeoutMs?: number): Promise<void>;
}

/**
 * Runs a child and starts it again when it exits on its own, after a delay that grows while it keeps crashing (so a
 * worker that dies at start does not spin), saying why each time. Used by `npm run up`: a crashed worker is restarted
 * while the web server, the registry and the engine stay up.
 */
export function supervise(name: string, script: string, env: NodeJS.ProcessEnv, opts: SupervisedOptions = {}): Supervised {
  const initial = opts.initialDelayMs ?? 1_000;
  const max = opts.maxDelayMs ?? 60_000;
  const healthyAfter = opts.healthyAfterMs ?? 5 * 60_000;
  const log = opts.log ?? ((msg: string) => console.log(`[up] ${msg}`));
  const start = opts.start ?? (() => startProcess(name, script, env));
  let stopped = false;
  let restarts = 0;
  let delay = initial;
  let timer: NodeJS.Timeout | undefined;
  let current: Managed;

  const launch = () => {
    const startedAt = Date.now();
    current = start();
    current.child.once("exit", (code, signal) => {
      if (stopped) return;
      if (Date.now() - startedAt >= healthyAfter) delay = initial;
      const why = signal ? `killed by ${signal}` : `exit code ${code}`;
      log(`${name} stopped unexpectedly (${why}); restarting it in ${delay < 10_000 ? (delay / 1000).toFixed(1) : Math.round(delay / 1000)} s`);
      timer = setTimeout(() => {
        if (stopped) return;
        restarts++;
        launch();
      }, delay);
      delay = Math.min(delay * 2, max);
    });
  };
  launch();
  return {
    name,
    current: () => current,
    restarts: () => restarts,
    stopRestarting() {
      stopped = true;
      clearTimeout(timer);
    },
    async stop(timeoutMs?: number) {
      this.stopRestarting();
      await current.stop(timeoutMs);
    },
  };
}
