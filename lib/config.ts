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
  /** Optional plain-HTTP port for local development; 0 disables it. */
  get httpPort() {
    return int(process.env.HTTP_PORT, 3080);
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
  /** Failed sign-ins allowed per account and per address in the window before sign-in is refused. */
  signIn: {
    windowSeconds: 15 * 60,
    maxPerAccount: 5,
    maxPerAddress: 20,
  },
};

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
