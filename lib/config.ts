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
