// The portal's device API (/api/device/v1) as the agent calls it: register, fetch the channel document, report status.
//
// node:http/https rather than fetch: the portal's certificate usually comes from Strata's local CA,
// and only node:https takes a `ca` to trust for one connection (fetch would need undici's Agent,
// which Node 18 does not expose).
import http from "node:http";
import https from "node:https";

const API_PATH = "/api/device/v1";
const TIMEOUT_MS = 30_000;
// The document and the API's answers are small; a larger body means we are not talking to the portal.
const MAX_BODY_BYTES = 1024 * 1024;

export interface DeviceCredentials {
  deviceId: string;
  secret: string;
}

export interface Registration {
  deviceId: string;
  secret: string;
  channel: { id: string; name: string };
  flavour: { id: string; name: string };
  publicKey: string;
}

export type ChannelResponse = { status: 304 } | { status: 200; body: Buffer; etag: string | null; signature: string | null };

export interface StatusReport {
  result: "success" | "failure" | "none";
  currentDigest: string | null;
  version: string | null;
  releaseId: string | null;
  message: string;
  agentVersion: string;
}

/** The portal answered with an error (or not at all); the message carries the portal's own `error.message`. */
export class PortalError extends Error {
  readonly status: number | null;
  constructor(message: string, status: number | null) {
    super(message);
    this.name = "PortalError";
    this.status = status;
  }
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export class PortalClient {
  private readonly base: URL;

  constructor(
    server: string,
    private readonly opts: { ca?: string | Buffer; device?: DeviceCredentials } = {},
  ) {
    this.base = new URL(server);
    if (this.base.protocol !== "https:" && this.base.protocol !== "http:") throw new Error(`the server URL ${server} is neither https:// nor http://`);
  }

  async register(input: { token: string; name: string; agentVersion: string }): Promise<Registration> {
    const answer = await this.request("POST", "/register", { body: input, authenticated: false });
    if (answer.status !== 201) throw this.refusal("POST /register", answer);
    const registration = parseJson(answer.body, "POST /register") as Registration;
    for (const field of ["deviceId", "secret", "publicKey"] as const) {
      if (typeof registration?.[field] !== "string" || !registration[field]) throw new PortalError(`POST /register answered without ${field}`, answer.status);
    }
    return registration;
  }

  async fetchChannel(etag: string | null): Promise<ChannelResponse> {
    const answer = await this.request("GET", "/channel", { headers: etag ? { "If-None-Match": etag } : {}, authenticated: true });
    if (answer.status === 304) return { status: 304 };
    if (answer.status !== 200) throw this.refusal("GET /channel", answer);
    return { status: 200, body: answer.body, etag: header(answer.headers.etag), signature: header(answer.headers["x-strata-signature"]) };
  }

  async sendStatus(report: StatusReport): Promise<void> {
    const answer = await this.request("POST", "/status", { body: { ...report, message: report.message.slice(0, 2000) }, authenticated: true });
    if (answer.status < 200 || answer.status > 299) throw this.refusal("POST /status", answer);
  }

  private refusal(what: string, answer: Answer): PortalError {
    let detail = answer.body.toString("utf8").trim().slice(0, 300);
    try {
      const parsed = JSON.parse(answer.body.toString("utf8")) as { error?: { code?: string; message?: string } };
      if (parsed?.error?.message) detail = parsed.error.message;
    } catch {
      // Not the portal's JSON error; the start of the text will do.
    }
    return new PortalError(`the portal answered HTTP ${answer.status} to ${what}${detail ? `: ${detail}` : ""}`, answer.status);
  }

  private request(method: "GET" | "POST", path: string, opts: { body?: unknown; headers?: Record<string, string>; authenticated: boolean }): Promise<Answer> {
    const url = new URL(`${this.base.pathname.replace(/\/+$/, "")}${API_PATH}${path}`, this.base);
    const headers: Record<string, string> = { Accept: "application/json", ...opts.headers };
    if (opts.authenticated) {
      if (!this.opts.device) throw new Error(`${method} ${path} needs the device's credentials, and the agent has none`);
      headers.Authorization = `Bearer ${this.opts.device.secret}`;
      headers["X-Strata-Device"] = this.opts.device.deviceId;
    }
    const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
    if (payload) {
      headers["Content-Type"] = "application/json";
      headers["Content-Length"] = String(payload.length);
    }
    const what = `${method} ${url.href}`;
    return new Promise<Answer>((resolve, reject) => {
      const options: https.RequestOptions = { method, headers, timeout: TIMEOUT_MS };
      // `ca` replaces the system's roots: the portal must present a certificate of that CA.
      if (url.protocol === "https:" && this.opts.ca) options.ca = this.opts.ca;
      const req = (url.protocol === "https:" ? https : http).request(url, options, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES) {
            req.destroy(new PortalError(`${what}: the answer is larger than ${MAX_BODY_BYTES} bytes`, res.statusCode ?? null));
            return;
          }
          chunks.push(chunk);
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on("error", (err) => reject(transportError(what, err)));
      });
      req.on("timeout", () => req.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000} s`)));
      req.on("error", (err) => reject(err instanceof PortalError ? err : transportError(what, err)));
      req.end(payload);
    });
  }
}

function transportError(what: string, err: Error): PortalError {
  const code = (err as NodeJS.ErrnoException).code;
  const hint = code && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code) ? " (pass the portal's CA certificate with --ca)" : "";
  return new PortalError(`${what} failed: ${code ? `${code}: ` : ""}${err.message}${hint}`, null);
}

function header(value: string | string[] | undefined): string | null {
  return (Array.isArray(value) ? value[0] : value) ?? null;
}

function parseJson(body: Buffer, what: string): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    throw new PortalError(`${what} answered with a body that is not JSON`, null);
  }
}
