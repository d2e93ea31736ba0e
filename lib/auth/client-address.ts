// The address rate limits key on. scripts/web.ts replaces X-Forwarded-For with the socket address unless TRUST_PROXY
// is set; behind trusted proxies each appends the address it saw, so the entry the outermost trusted proxy added is
// the client. Entries left of it are whatever the client sent and are never trusted.
import { config } from "../config";

type HeaderBag = Headers | Record<string, unknown> | undefined;

function header(headers: HeaderBag, name: string): string {
  if (!headers) return "";
  if (headers instanceof Headers) return headers.get(name) ?? "";
  const value = headers[name];
  return Array.isArray(value) ? value.join(",") : String(value ?? "");
}

export function clientAddress(headers: HeaderBag, trustedHops = config.trustedProxyHops): string {
  const entries = header(headers, "x-forwarded-for")
    .split(",")
    .map((e) => e.trim())
    .filter(Boolean);
  if (entries.length === 0) return "unknown";
  // Without a trusted proxy the web server set the header to the socket address alone; take the last entry anyway,
  // so a server started some other way never keys on a value the client chose first.
  const hops = Math.max(1, trustedHops);
  return entries[Math.max(0, entries.length - hops)];
}
