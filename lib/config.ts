// Process configuration from the environment, with the defaults of a fresh machine (everything under .data/).
import fs from "node:fs";
import path from "node:path";
import crypto from "node:crypto";

const int = (v: string | undefined, fallback: number) => {
  if (v === undefined || v === "") return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`Expected a whole number, got "${v}"`);
  return n;
};

/** A whole-number setting of at least `min`; a bad value names the variable (a typo must not turn a limit off). */
function wholeSetting(name: string, fallback: number, min: number, env: Record<string, string | undefined> = process.env): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be a whole number of at least ${min}, got "${raw}"`);
  return n;
}

export function dataDir(): string {
  return path.resolve(/*turbopackIgnore: true*/ process.env.STRATA_DATA_DIR || ".data");
}

export const config = {
  get dataDir() {
    return dataDir();
  },
  get host() {
    return process.env.HOST || "127.0.0.1";
  },
  /** HTTPS port of the web process. */
  get port() {
    return int(process.env.PORT, 3443);
  },
  /** Optional plain-HTTP port for local development and scripts on this machine; 0 disables it. */
  get httpPort() {
    return int(process.env.HTTP_PORT, 3080);
  },
  /** Where plain HTTP listens: loopback unless HTTP_HOST says otherwise and HTTP_ALLOW_NETWORK=1 accepts clear text on a network. */
  get httpHost() {
    return plainHttpHost();
  },
  get embeddedPgPort() {
    return int(process.env.STRATA_PG_PORT, 54329);
  },
  get publicUrl() {
    return (process.env.NEXTAUTH_URL || process.env.STRATA_PUBLIC_URL || `https://localhost:${this.port}`).replace(/\/$/, "");
  },
  get adminEmail() {
    return (process.env.STRATA_ADMIN_EMAIL || "admin@strata.local").toLowerCase();
  },
  /** The registry workers push to. */
  get registryUrl() {
    return process.env.REGISTRY_URL || "127.0.0.1:5000";
  },
  /**
   * The same registry as other machines (devices, a colleague's laptop) reach it, used in the image references
   * Strata shows, labels and documents; REGISTRY_URL when unset.
   */
  get registryPublicUrl() {
    return (process.env.REGISTRY_PUBLIC_URL || this.registryUrl).replace(/^https?:\/\//, "").replace(/\/+$/, "");
  },
  /** Repository (on the registry) where workers share package images by cache key, so any worker's engine can reuse them. */
  get cacheRepository() {
    return process.env.STRATA_CACHE_REPOSITORY || "strata-cache";
  },
  /**
   * Builds one organisation may have waiting (queued) at once, STRATA_ORG_MAX_QUEUED (20 by default): starting one more is
   * refused, so no tenant can fill the queue every worker reads from. Read at each start, so a change needs no restart.
   */
  get orgMaxQueued() {
    return wholeSetting("STRATA_ORG_MAX_QUEUED", 20, 1);
  },
  /** Live build logs (event streams) one user may have open at once, counted per web process. */
  get maxStreamsPerUser() {
    return wholeSetting("STRATA_MAX_STREAMS_PER_USER", 8, 1);
  },
  /** How often an open live log looks at the database while the web process's LISTEN connection is down. */
  get liveLogFallbackPollMs() {
    return wholeSetting("STRATA_LIVE_LOG_FALLBACK_POLL_MS", 5_000, 100);
  },
  /** Hours between runs of the cache pruning job (each worker checks; one runs at a time). */
  get cachePruneIntervalHours() {
    return wholeSetting("STRATA_CACHE_PRUNE_INTERVAL_H", 6, 1);
  },
  /** Cache images whose key no build used for this many days are removed (unless a published build needs them). */
  get cacheMaxAgeDays() {
    return wholeSetting("STRATA_CACHE_MAX_AGE_DAYS", 14, 1);
  },
  /**
   * Sign-in limits. Per account: `freeAttempts` failures, then each further attempt waits `backoffSeconds`, doubling per
   * failure up to `backoffMaxSeconds` (a success resets it; failures are forgotten after `windowSeconds` without one).
   * Per address: `maxPerAddress` failures in `windowSeconds`, then refused until the window ends (what stops a spray).
   */
  get signIn() {
    return {
      windowSeconds: wholeSetting("STRATA_SIGN_IN_WINDOW_S", 15 * 60, 1),
      freeAttempts: wholeSetting("STRATA_SIGN_IN_FREE_ATTEMPTS", 5, 1),
      backoffSeconds: wholeSetting("STRATA_SIGN_IN_BACKOFF_S", 15, 1),
      backoffMaxSeconds: wholeSetting("STRATA_SIGN_IN_BACKOFF_MAX_S", 10 * 60, 1),
      maxPerAddress: wholeSetting("STRATA_SIGN_IN_MAX_PER_ADDRESS", 20, 1),
    };
  },
  /** Sign-ups one address may make per hour (STRATA_SIGN_UP_MAX_PER_ADDRESS, 10 by default). */
  get signUp() {
    return { windowSeconds: 3600, maxPerAddress: wholeSetting("STRATA_SIGN_UP_MAX_PER_ADDRESS", 10, 1) };
  },
  /** The longest lifetime of an API token in days (STRATA_TOKEN_MAX_DAYS, 365 by default): every token expires. */
  get tokenMaxDays() {
    return wholeSetting("STRATA_TOKEN_MAX_DAYS", 365, 1);
  },
  /**
   * Proxies in front of the web process that add to X-Forwarded-For (TRUST_PROXY: 0/unset = none, the socket address
   * counts; 1 = one, its entry, the rightmost, is the client; n = n proxies). The leftmost entry is never trusted.
   */
  get trustedProxyHops() {
    const raw = process.env.TRUST_PROXY?.trim().toLowerCase();
    if (raw === "true" || raw === "yes" || raw === "on") return 1;
    if (raw === "false" || raw === "no" || raw === "off") return 0;
    return wholeSetting("TRUST_PROXY", 0, 0);
  },
};

/** Whether an address to listen on reaches only this machine. */
export function isLoopback(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, "");
  if (h === "localhost" || h === "::1" || h === "0:0:0:0:0:0:0:1") return true;
  const v4 = /^(?:::ffff:)?(\d+)\.\d+\.\d+\.\d+$/.exec(h);
  return v4 !== null && v4[1] === "127";
}

/**
 * The plain-HTTP address (HTTP_HOST, 127.0.0.1 by default). Session cookies and API tokens cross it in clear text, so an
 * address other machines reach is refused unless HTTP_ALLOW_NETWORK=1 says that is meant (e.g. a private test network).
 */
export function plainHttpHost(env: Record<string, string | undefined> = process.env): string {
  const host = env.HTTP_HOST?.trim() || "127.0.0.1";
  const allow = env.HTTP_ALLOW_NETWORK?.trim().toLowerCase() ?? "";
  if (!["", "0", "1", "true", "false"].includes(allow)) throw new Error(`HTTP_ALLOW_NETWORK must be 1 or 0, got "${env.HTTP_ALLOW_NETWORK}"`);
  if (!isLoopback(host) && allow !== "1" && allow !== "true") {
    throw new Error(
      `HTTP_HOST=${host} would serve plain HTTP (session cookies and API tokens in clear text) to the network. ` +
        `Serve other machines over HTTPS (HOST=${host}), set HTTP_PORT=0 to turn plain HTTP off, or set HTTP_ALLOW_NETWORK=1 if this network is private.`,
    );
  }
  return host;
}

/** Reads a secret kept in .data/, creating it (0600) on first use. */
export function loadOrCreateSecret(file: string, make: () => string = () => crypto.randomBytes(32).toString("base64url")): string {
  try {
    return fs.readFileSync(file, "utf8").trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const value = make();
  try {
    fs.writeFileSync(file, value + "\n", { mode: 0o600, flag: "wx" });
    return value;
  } catch (err) {
    // Another process created it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return fs.readFileSync(file, "utf8").trim();
    throw err;
  }
}

/** The NextAuth JWT secret: NEXTAUTH_SECRET, else one generated once into .data/. */
export function authSecret(): string {
  return process.env.NEXTAUTH_SECRET || loadOrCreateSecret(path.join(dataDir(), "auth-secret"));
}

/** How the worker runs jobs: retries of outages, builds at once, the per-organisation cap on running builds. */
export interface JobSettings {
  /** Retries of a build after an engine or registry outage (STRATA_BUILD_RETRIES); 0 fails it at the first. */
  buildRetries: number;
  /** Seconds before the first retry (STRATA_BUILD_RETRY_DELAY_S). */
  retryDelaySeconds: number;
  /** Whether each retry waits about twice as long as the one before (STRATA_BUILD_RETRY_BACKOFF). */
  retryBackoff: boolean;
  /** Builds one worker process runs at once (STRATA_WORKER_CONCURRENCY). */
  workerConcurrency: number;
  /** Builds of one organisation running at once across all workers (STRATA_ORG_MAX_RUNNING); 0: no cap. */
  orgMaxRunning: number;
}

/** Reads and checks the job settings; a bad value is an error naming the variable. */
export function jobSettings(env: Record<string, string | undefined> = process.env): JobSettings {
  const whole = (name: string, fallback: number, min: number) => wholeSetting(name, fallback, min, env);
  const flag = (name: string, fallback: boolean) => {
    const raw = env[name]?.trim().toLowerCase();
    if (raw === undefined || raw === "") return fallback;
    if (["1", "true", "yes", "on"].includes(raw)) return true;
    if (["0", "false", "no", "off"].includes(raw)) return false;
    throw new Error(`${name} must be true or false (1 or 0), got "${env[name]}"`);
  };
  return {
    buildRetries: whole("STRATA_BUILD_RETRIES", 3, 0),
    retryDelaySeconds: whole("STRATA_BUILD_RETRY_DELAY_S", 10, 1),
    retryBackoff: flag("STRATA_BUILD_RETRY_BACKOFF", true),
    workerConcurrency: whole("STRATA_WORKER_CONCURRENCY", 1, 1),
    orgMaxRunning: whole("STRATA_ORG_MAX_RUNNING", 2, 0),
  };
}
