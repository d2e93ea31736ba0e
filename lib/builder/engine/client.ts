// The Docker engine client of the worker: which engine (DOCKER_HOST), whether it answers, and the error that says it does not.
import Dockerode from "dockerode";
import { UnavailableError } from "../../errors";

/** The engine cannot be reached: retryable (a worker should put the job back, not fail the build). */
export class EngineUnavailableError extends UnavailableError {
  readonly retryable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message);
    if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }
}

export const DEFAULT_DOCKER_SOCKET = "/var/run/docker.sock";
const PING_TIMEOUT_MS = 5_000;

/** A client for DOCKER_HOST (unix://, tcp://, with the usual DOCKER_TLS_* variables) or the default socket. */
export function dockerFromEnv(env: NodeJS.ProcessEnv = process.env): Dockerode {
  // docker-modem reads DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH itself when given no options.
  if (env.DOCKER_HOST) {
    const host = env.DOCKER_HOST;
    if (host.startsWith("unix://")) return new Dockerode({ socketPath: host.slice("unix://".length) });
    return new Dockerode();
  }
  return new Dockerode({ socketPath: DEFAULT_DOCKER_SOCKET });
}

/** Where the engine is, for messages. */
export const engineAddress = (env: NodeJS.ProcessEnv = process.env) => env.DOCKER_HOST ?? DEFAULT_DOCKER_SOCKET;

/** Transport errors that mean "no engine there" rather than "the engine refused the request". */
export function isEngineUnreachable(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | undefined;
  if (!e) return false;
  if (e.code && ["ECONNREFUSED", "ENOENT", "ECONNRESET", "EPIPE", "EHOSTUNREACH", "ETIMEDOUT", "EAI_AGAIN"].includes(e.code)) {
    return true;
  }
  return /socket hang up|connect ECONNREFUSED|connect ENOENT/.test(e.message ?? "");
}

/** Resolves true when the engine answers `/_ping` within the timeout. */
export async function pingEngine(docker: Dockerode, timeoutMs = PING_TIMEOUT_MS): Promise<boolean> {
  const abort = AbortSignal.timeout(timeoutMs);
  try {
    // dockerode accepts { abortSignal } here; its type declarations do not say so.
    await (docker.ping as unknown as (opts: { abortSignal: AbortSignal }) => Promise<unknown>)({ abortSignal: abort });
    return true;
  } catch {
    return false;
  }
}
