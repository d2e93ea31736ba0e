// Where to go after signing in: only a path on this site. Anything that a browser could read as another host
// (`//evil.example`, `/\evil.example`, an encoded `/%2F%2Fevil`, `https://…`, `javascript:`) falls back.

export const DEFAULT_AFTER_SIGN_IN = "/dashboard";

const BASE = "https://strata.invalid";

/** Decodes percent-escapes until nothing changes (a few rounds), so double-encoded tricks show their real shape. */
function fullyDecoded(value: string): string | null {
  let current = value;
  for (let i = 0; i < 4; i++) {
    let next: string;
    try {
      next = decodeURIComponent(current);
    } catch {
      return null;
    }
    if (next === current) return current;
    current = next;
  }
  return null;
}

/**
 * A same-origin path (with its query and fragment) for `raw`, or `fallback`. An absolute URL is accepted only when its
 * origin is `origin` (this site), and then only its path is kept.
 */
export function safeCallbackPath(raw: unknown, opts: { origin?: string; fallback?: string } = {}): string {
  const fallback = opts.fallback ?? DEFAULT_AFTER_SIGN_IN;
  if (typeof raw !== "string" || raw === "" || raw.length > 2000) return fallback;
  let candidate = raw;
  if (!candidate.startsWith("/")) {
    if (!opts.origin) return fallback;
    let absolute: URL;
    try {
      absolute = new URL(candidate);
    } catch {
      return fallback;
    }
    if (absolute.origin !== new URL(opts.origin).origin) return fallback;
    candidate = absolute.pathname + absolute.search + absolute.hash;
  }
  const decoded = fullyDecoded(candidate);
  // Control characters and whitespace are dropped by URL parsers ("/\t/evil" is "//evil"); backslashes count as slashes.
  if (decoded === null || /[\u0000-\u001f\u007f\\]/.test(decoded) || decoded.startsWith("//")) return fallback;
  let parsed: URL;
  try {
    parsed = new URL(candidate, BASE);
  } catch {
    return fallback;
  }
  if (parsed.origin !== BASE) return fallback;
  return parsed.pathname + parsed.search + parsed.hash;
}
