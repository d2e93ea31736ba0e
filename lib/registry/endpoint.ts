// Where a registry is: the host as written in image references, and the base URL of its distribution API.
import { UnavailableError } from "../errors";

/** The registry cannot be reached: retryable. The message names the registry and how to fix it. */
export class RegistryUnavailableError extends UnavailableError {
  readonly retryable = true;
  readonly registry: string;
  constructor(registry: string, detail: string) {
    super(
      `The registry ${registry} is not reachable (${detail}). Start it (\`npm run up\` starts a local docker-registry on 127.0.0.1:5000) or set REGISTRY_URL to a reachable registry.`,
    );
    this.registry = registry;
  }
}

export interface RegistryEndpoint {
  /** host[:port] as written in image references, e.g. "127.0.0.1:5000". */
  url: string;
  /** Base URL of the distribution API, e.g. "http://127.0.0.1:5000". */
  apiBase: string;
}

/**
 * Splits REGISTRY_URL-like input into the reference host and the API base. Loopback registries
 * speak plain HTTP (Docker trusts 127.0.0.0/8 without TLS); anything else is assumed HTTPS unless a
 * scheme says otherwise.
 */
export function parseRegistry(value: string): RegistryEndpoint {
  const m = /^(https?):\/\/([^/]+)\/?$/.exec(value.trim());
  if (m) return { url: m[2], apiBase: `${m[1]}://${m[2]}` };
  const host = value.trim().replace(/\/+$/, "");
  const loopback = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?$/.test(host);
  return { url: host, apiBase: `${loopback ? "http" : "https"}://${host}` };
}

/** True when `GET /v2/` answers like a distribution registry (200, or 401 asking for auth). */
export async function registryAnswers(apiBase: string, timeoutMs = 3_000): Promise<boolean> {
  try {
    const res = await fetch(`${apiBase}/v2/`, { signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    return res.status === 200 || res.status === 401;
  } catch {
    return false;
  }
}

