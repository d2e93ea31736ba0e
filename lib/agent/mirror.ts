// Registry mirrors: `--registry-mirror <host>=<url>` pulls the images whose reference names <host> from <url> instead,
// for a device that reaches the registry at another address than the one image references carry (a VM behind NAT,
// a registry on the portal's loopback). Digests are checked as always, so a mirror can only serve the same bytes.
// No imports: the portal's catalog validates the same setting with it.

/** Image reference host (host[:port], as written in references) → base URL of the distribution API to use for it. */
export type RegistryMirrors = ReadonlyMap<string, string>;

const LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?";
const HOST = new RegExp(`^(?:${LABEL}(?:\\.${LABEL})*|\\[[0-9A-Fa-f:.]+\\])(?::\\d{1,5})?$`);

/** Parses `host[:port]=http(s)://host[:port]`; throws with a message for the user. */
export function parseRegistryMirror(value: string): { host: string; url: string } {
  const eq = value.indexOf("=");
  // A registry setting is often written with its scheme (REGISTRY_URL=http://…); references carry only the host.
  const host = eq < 0 ? "" : value.slice(0, eq).trim().replace(/^https?:\/\//, "").replace(/\/+$/, "");
  const target = eq < 0 ? "" : value.slice(eq + 1).trim();
  const example = "e.g. 127.0.0.1:5055=http://10.0.2.2:5055";
  if (!host || !target) throw new Error(`a registry mirror is <registry host>=<URL>, ${example}; not "${value}"`);
  if (!HOST.test(host)) throw new Error(`"${host}" is not a registry host as image references write it (host or host:port), ${example}`);
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw new Error(`"${target}" is not a URL; a registry mirror's address is http(s)://host[:port], ${example}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error(`a registry mirror's address is an http:// or https:// URL, not "${target}"`);
  if (url.username || url.password || url.search || url.hash || (url.pathname !== "/" && url.pathname !== "")) {
    throw new Error(`a registry mirror's address is only http(s)://host[:port] (the distribution API lives at /v2/), not "${target}"`);
  }
  return { host, url: `${url.protocol}//${url.host}` };
}

/** Several `host=url` settings as one map; a host given twice is refused rather than silently overridden. */
export function parseRegistryMirrors(values: readonly string[]): RegistryMirrors {
  const mirrors = new Map<string, string>();
  for (const value of values) {
    const { host, url } = parseRegistryMirror(value);
    if (mirrors.has(host)) throw new Error(`the registry ${host} has two mirrors (${mirrors.get(host)} and ${url}); give one`);
    mirrors.set(host, url);
  }
  return mirrors;
}
