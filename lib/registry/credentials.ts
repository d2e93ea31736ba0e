// Which credentials Strata uses for a registry: REGISTRY_USERNAME/REGISTRY_PASSWORD, else what `docker login` wrote.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export interface RegistryCredentials {
  username?: string;
  password?: string;
  /** OAuth2 refresh token that `docker login` stores for registries that hand one out. */
  identityToken?: string;
}

interface DockerAuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}

interface DockerConfigFile {
  auths?: Record<string, DockerAuthEntry>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`, as the docker CLI reads it. */
export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.DOCKER_CONFIG || path.join(env.HOME || os.homedir(), ".docker");
  return path.join(dir, "config.json");
}

/**
 * The host part of an `auths` key. The docker CLI writes "host:port" for most registries but
 * "https://index.docker.io/v1/" for Docker Hub, and older versions wrote "https://host" or
 * "https://host/v1/" for any; it compares keys the same way.
 */
function hostOfKey(key: string): string {
  return key.replace(/^https?:\/\//, "").split("/")[0].toLowerCase();
}

// Docker Hub goes by several names; logins are stored under index.docker.io.
const DOCKER_HUB = ["docker.io", "index.docker.io", "registry-1.docker.io"];

/**
 * Credentials for `host` (host[:port], as in image references), or null for anonymous access.
 *
 * REGISTRY_USERNAME + REGISTRY_PASSWORD come first and are used for whatever host is asked: they
 * belong to REGISTRY_URL's registry, the only one Strata signs in to. Then the docker CLI's
 * config.json. Credential helpers (credHelpers, credsStore) would mean running external programs
 * such as `docker-credential-pass`; they are not supported, and a host that only has one counts as
 * having no credentials here.
 */
export function credentialsFor(host: string, env: NodeJS.ProcessEnv = process.env): RegistryCredentials | null {
  if (env.REGISTRY_USERNAME || env.REGISTRY_PASSWORD) {
    if (!env.REGISTRY_USERNAME || !env.REGISTRY_PASSWORD) {
      throw new Error("Set both REGISTRY_USERNAME and REGISTRY_PASSWORD, or neither (only one of them is set).");
    }
    return { username: env.REGISTRY_USERNAME, password: env.REGISTRY_PASSWORD };
  }
  return fromDockerConfig(host, dockerConfigPath(env));
}

function fromDockerConfig(host: string, file: string): RegistryCredentials | null {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new Error(`Cannot read the Docker config ${file}: ${(err as Error).message}`);
  }
  let parsed: DockerConfigFile;
  try {
    parsed = JSON.parse(text) as DockerConfigFile;
  } catch (err) {
    throw new Error(`The Docker config ${file} is not valid JSON (${(err as Error).message}); fix or remove it, or run \`docker login\` again.`);
  }
  const wanted = hostOfKey(host);
  const names = DOCKER_HUB.includes(wanted) ? DOCKER_HUB : [wanted];
  const auths = parsed?.auths && typeof parsed.auths === "object" ? parsed.auths : {};
  // An exact key wins over a spelling with scheme or path, as in the docker CLI.
  const key = names.map((n) => Object.keys(auths).find((k) => k === n)).find(Boolean) ?? Object.keys(auths).find((k) => names.includes(hostOfKey(k)));
  if (!key) return null;
  return fromEntry(auths[key] ?? {}, `${file}: auths["${key}"]`);
}

function fromEntry(entry: DockerAuthEntry, where: string): RegistryCredentials | null {
  const credentials: RegistryCredentials = {};
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon <= 0) throw new Error(`${where}.auth is not base64 of "user:password"; run \`docker login\` again.`);
    credentials.username = decoded.slice(0, colon);
    credentials.password = decoded.slice(colon + 1);
  } else if (entry.username && entry.password !== undefined) {
    credentials.username = entry.username;
    credentials.password = entry.password;
  }
  if (entry.identitytoken) credentials.identityToken = entry.identitytoken;
  // `{}` is what docker login leaves in `auths` when a credential helper holds the secret.
  return Object.keys(credentials).length > 0 ? credentials : null;
}
