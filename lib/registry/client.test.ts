// RegistryClient against an in-test HTTP server. The server stands in for a registry that signs in
// through a token server (distribution's Bearer flow, as Docker Hub, GHCR or Harbor do): no token
// server can run on this machine, and Debian's docker-registry only offers htpasswd (Basic), which
// registry.int.test.ts covers for real. It also serves deliberately corrupt content.
import { createHash, randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DigestMismatchError, RegistryAuthError, RegistryClient, RegistryNotFoundError, RegistryUnavailableError } from "./client";

const sha256 = (bytes: Buffer | string) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
const USER = { username: "alice", password: "s3cret" };
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";

interface StandIn {
  url: string;
  tokenRequests: URL[];
  tokenAuthorizations: (string | undefined)[];
  /** Every registry request as "METHOD path?query" with the Authorization it carried. */
  requests: { line: string; authorization?: string }[];
  tokenLifetime: number;
  /** "relative" or "absolute" Location headers for uploads. */
  locations: "relative" | "absolute";
  manifests: Map<string, { bytes: Buffer; mediaType: string }>;
  blobs: Map<string, Buffer>;
  failNext?: number;
  close: () => Promise<void>;
}

async function startStandIn(): Promise<StandIn> {
  const tokens = new Map<string, { scopes: string[]; expires: number }>();
  let origin = "";
  const state: StandIn = {
    url: "",
    tokenRequests: [],
    tokenAuthorizations: [],
    requests: [],
    tokenLifetime: 300,
    locations: "relative",
    manifests: new Map(),
    blobs: new Map(),
    close: async () => {},
  };

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", origin);
    const body = await buffer(req);
    if (url.pathname === "/token") {
      state.tokenRequests.push(url);
      state.tokenAuthorizations.push(req.headers.authorization);
      const expected = `Basic ${Buffer.from(`${USER.username}:${USER.password}`).toString("base64")}`;
      if (req.headers.authorization !== expected) {
        res.writeHead(401, { "Content-Type": "application/json" }).end(JSON.stringify({ details: "incorrect username or password" }));
        return;
      }
      const token = randomUUID();
      tokens.set(token, { scopes: url.searchParams.getAll("scope"), expires: Date.now() + state.tokenLifetime * 1000 });
      res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ access_token: token, expires_in: state.tokenLifetime }));
      return;
    }

    state.requests.push({ line: `${req.method} ${url.pathname}${url.search}`, authorization: req.headers.authorization });
    if (state.failNext) {
      state.failNext--;
      res.writeHead(503).end("maintenance");
      return;
    }
    const m = /^\/v2\/(.+?)\/(manifests|blobs)\/(.*)$/.exec(url.pathname);
    const repo = m?.[1] ?? "";
    const needed = m ? `repository:${repo}:${req.method === "GET" || req.method === "HEAD" ? "pull" : "pull,push"}` : "";
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    const granted = bearer ? tokens.get(bearer) : undefined;
    const allowed = granted && granted.expires > Date.now() && (!needed || granted.scopes.some((s) => s === needed || s === `repository:${repo}:pull,push`));
    if (!allowed) {
      // A realm whose query holds a comma, to prove the challenge is parsed rather than split on commas.
      const scope = needed ? `,scope="${needed}"` : "";
      res.writeHead(401, { "WWW-Authenticate": `Bearer realm="${origin}/token?issuer=a,b",service="stand-in"${scope}`, "Content-Type": "application/json" });
      res.end(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }));
      return;
    }
    if (url.pathname === "/v2/") return void res.writeHead(200).end("{}");

    const [kind, rest] = [m?.[2], m?.[3] ?? ""];
    if (kind === "manifests") {
      const key = `${repo}:${rest}`;
      if (req.method === "PUT") {
        const digest = sha256(body);
        const stored = { bytes: body, mediaType: String(req.headers["content-type"]) };
        state.manifests.set(key, stored);
        state.manifests.set(`${repo}:${digest}`, stored);
        return void res.writeHead(201, { "Docker-Content-Digest": digest }).end();
      }
      const found = state.manifests.get(key);
      if (!found) return void res.writeHead(404, { "Content-Type": "application/json" }).end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}');
      // The repository "corrupt/manifest" announces a digest its bytes do not have.
      const digest = repo === "corrupt/manifest" ? sha256("something else") : sha256(found.bytes);
      res.writeHead(200, { "Content-Type": found.mediaType, "Docker-Content-Digest": digest, "Content-Length": found.bytes.length });
      return void res.end(req.method === "HEAD" ? undefined : found.bytes);
    }
    if (kind === "blobs" && rest.startsWith("uploads/")) {
      if (req.method === "POST" && url.searchParams.has("mount")) {
        // Never mounts: answers with a fresh upload session, as registries do when they cannot.
        const id = randomUUID();
        return void res.writeHead(202, { Location: `/v2/${repo}/blobs/uploads/${id}?_state=x/y~z%3D` }).end();
      }
      if (req.method === "POST") {
        const id = randomUUID();
        const where = `/v2/${repo}/blobs/uploads/${id}?_state=x/y~z%3D`;
        return void res.writeHead(202, { Location: state.locations === "absolute" ? `${origin}${where}` : where }).end();
      }
      if (req.method === "DELETE") return void res.writeHead(204).end();
      if (req.method === "PUT") {
        // The registry's own query must come back untouched.
        if (!url.search.startsWith("?_state=x/y~z%3D&digest=")) return void res.writeHead(400).end('{"errors":[{"code":"BLOB_UPLOAD_INVALID"}]}');
        const digest = url.searchParams.get("digest") ?? "";
        if (sha256(body) !== digest) return void res.writeHead(400).end('{"errors":[{"code":"DIGEST_INVALID"}]}');
        state.blobs.set(`${repo}@${digest}`, body);
        return void res.writeHead(201, { "Docker-Content-Digest": digest }).end();
      }
    }
    if (kind === "blobs") {
      const found = state.blobs.get(`${repo}@${rest}`);
      if (!found) return void res.writeHead(404).end('{"errors":[{"code":"BLOB_UNKNOWN"}]}');
      res.writeHead(200, { "Content-Length": found.length, "Docker-Content-Digest": rest });
      return void res.end(req.method === "HEAD" ? undefined : found);
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.url = origin;
  state.close = () => new Promise((resolve) => server.close(() => resolve()));
  return state;
}

describe("RegistryClient against a token-auth registry stand-in", () => {
  let standIn: StandIn;
  beforeAll(async () => {
    standIn = await startStandIn();
  });
  afterAll(() => standIn.close());
  afterEach(() => {
    standIn.tokenRequests.length = 0;
    standIn.tokenAuthorizations.length = 0;
    standIn.requests.length = 0;
    standIn.tokenLifetime = 300;
    standIn.locations = "relative";
  });

  it("gets a token for the challenge's scope with Basic credentials, and reuses it per scope", async () => {
    const client = new RegistryClient(standIn.url, { credentials: USER });
    const layer = Buffer.from("layer bytes");
    const config = Buffer.from("{}");
    await client.putBlob("acme/os", sha256(layer), layer);
    await client.putBlob("acme/os", sha256(config), config);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha256(config), size: config.length },
        layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: sha256(layer), size: layer.length }],
      }),
    );
    const digest = await client.putManifest("acme/os", "1.0", manifest, OCI_MANIFEST);
    expect(digest).toBe(sha256(manifest));

    const fetched = await client.getManifest("acme/os", "1.0");
    expect(fetched).toMatchObject({ digest, mediaType: OCI_MANIFEST });
    expect(fetched.bytes.equals(manifest)).toBe(true);
    expect((fetched.manifest as { layers: Array<{ digest: string }> }).layers[0].digest).toBe(sha256(layer));
    expect(await client.headManifest("acme/os", digest)).toEqual({ digest, mediaType: OCI_MANIFEST, size: manifest.length });
    expect((await client.getBlob("acme/os", sha256(layer))).toString()).toBe("layer bytes");

    // One token per scope set (pull for reads, pull,push for writes), each asked once.
    const scopes = standIn.tokenRequests.map((u) => u.searchParams.getAll("scope").join(" "));
    expect(scopes.sort()).toEqual(["repository:acme/os:pull", "repository:acme/os:pull,push"]);
    for (const u of standIn.tokenRequests) {
      expect(u.searchParams.get("service")).toBe("stand-in");
      expect(u.searchParams.get("issuer")).toBe("a,b");
    }
    expect(standIn.tokenAuthorizations.every((a) => a?.startsWith("Basic "))).toBe(true);
    // After the first refusal per scope, requests carry the cached token straight away.
    expect(standIn.requests.filter((r) => !r.authorization)).toHaveLength(2);
  });

  it("asks for a new token once the old one has expired", async () => {
    standIn.tokenLifetime = 1;
    const client = new RegistryClient(standIn.url, { credentials: USER });
    await client.ping();
    await client.ping();
    expect(standIn.tokenRequests).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 1100));
    await client.ping();
    expect(standIn.tokenRequests).toHaveLength(2);
  });

  it("keeps the registry's query string in relative and absolute upload locations", async () => {
    const client = new RegistryClient(standIn.url, { credentials: USER });
    for (const locations of ["relative", "absolute"] as const) {
      standIn.locations = locations;
      const blob = Buffer.from(`uploaded with ${locations} location`);
      await client.putBlob("acme/uploads", sha256(blob), blob);
      expect(standIn.blobs.get(`acme/uploads@${sha256(blob)}`)?.equals(blob)).toBe(true);
    }
    const streamed = Buffer.alloc(600_000, 7);
    await client.putBlobStream("acme/uploads", sha256(streamed), streamed.length, Readable.from([streamed.subarray(0, 100), streamed.subarray(100)]));
    expect(standIn.blobs.get(`acme/uploads@${sha256(streamed)}`)?.equals(streamed)).toBe(true);
  });

  it("does not upload a blob the repository already has", async () => {
    const client = new RegistryClient(standIn.url, { credentials: USER });
    const blob = Buffer.from("already there");
    await client.putBlob("acme/dedup", sha256(blob), blob);
    standIn.requests.length = 0;
    await client.putBlob("acme/dedup", sha256(blob), blob);
    expect(standIn.requests.map((r) => r.line)).toEqual([`HEAD /v2/acme/dedup/blobs/${sha256(blob)}`]);
  });

  it("cancels the upload a refused mount opened, and copyBlob then streams the blob across", async () => {
    const client = new RegistryClient(standIn.url, { credentials: USER });
    const blob = Buffer.from("shared layer");
    const digest = sha256(blob);
    await client.putBlob("acme/source", digest, blob);
    expect(await client.mountBlob("acme/target", digest, "acme/source")).toBe(false);
    expect(standIn.requests.some((r) => r.line.startsWith("DELETE /v2/acme/target/blobs/uploads/"))).toBe(true);
    // The mount asks for push on the target and pull on the source in one token.
    expect(standIn.tokenRequests.some((u) => u.searchParams.get("scope") === "repository:acme/target:pull,push")).toBe(true);

    await client.copyBlob("acme/source", "acme/copy", digest);
    expect(standIn.blobs.get(`acme/copy@${digest}`)?.equals(blob)).toBe(true);
  });

  it("throws RegistryAuthError naming the registry when the token server refuses the credentials", async () => {
    const client = new RegistryClient(standIn.url, { credentials: { username: "alice", password: "wrong" } });
    const err = await client.ping().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryAuthError);
    expect((err as RegistryAuthError).retryable).toBe(false);
    expect((err as Error).message).toContain(new URL(standIn.url).host);
    expect((err as Error).message).toContain('credentials for user "alice" were sent');

    const anonymous = await new RegistryClient(standIn.url, { credentials: null }).getManifest("acme/os", "1.0").catch((e: unknown) => e);
    expect(anonymous).toBeInstanceOf(RegistryAuthError);
    expect((anonymous as Error).message).toMatch(/no credentials were sent.*REGISTRY_USERNAME and REGISTRY_PASSWORD.*docker login/);
  });

  it("detects a manifest whose bytes do not match the registry's digest", async () => {
    const client = new RegistryClient(standIn.url, { credentials: USER });
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, layers: [] }));
    await client.putManifest("corrupt/manifest", "1.0", manifest, OCI_MANIFEST);
    await expect(client.getManifest("corrupt/manifest", "1.0")).rejects.toThrow(DigestMismatchError);
    // Asked by digest, the announced digest is wrong too.
    await expect(client.getManifest("corrupt/manifest", sha256(manifest))).rejects.toThrow(/Docker-Content-Digest/);
  });

  it("detects a blob whose bytes are not its digest, buffered and streamed", async () => {
    const client = new RegistryClient(standIn.url, { credentials: USER });
    const claimed = sha256("the real layer");
    standIn.blobs.set(`corrupt/blob@${claimed}`, Buffer.from("flipped bits"));
    await expect(client.getBlob("corrupt/blob", claimed)).rejects.toThrow(DigestMismatchError);
    const stream = await client.openBlob("corrupt/blob", claimed);
    await expect(buffer(stream)).rejects.toThrow(DigestMismatchError);

    const good = Buffer.alloc(300_000, 1);
    standIn.blobs.set(`good/blob@${sha256(good)}`, good);
    expect((await buffer(await client.openBlob("good/blob", sha256(good)))).equals(good)).toBe(true);
  });

  it("reports a missing manifest as RegistryNotFoundError and a missing one by HEAD as null", async () => {
    const client = new RegistryClient(standIn.url, { credentials: USER });
    await expect(client.getManifest("acme/os", "nope")).rejects.toThrow(RegistryNotFoundError);
    expect(await client.headManifest("acme/os", "nope")).toBeNull();
    expect(await client.headBlob("acme/os", sha256("nope"))).toBeNull();
  });

  it("turns 5xx into a retryable RegistryUnavailableError", async () => {
    const client = new RegistryClient(standIn.url, { credentials: USER });
    await client.ping();
    standIn.failNext = 1;
    const err = await client.ping().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryUnavailableError);
    expect((err as RegistryUnavailableError).retryable).toBe(true);
    expect((err as Error).message).toContain("HTTP 503");
  });
});

describe("RegistryClient without a registry", () => {
  it("reports an unreachable registry as unavailable, and health() says so without throwing", async () => {
    // A port that was free a moment ago: nothing listens there.
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));

    const client = new RegistryClient(`127.0.0.1:${port}`, { credentials: null, timeoutMs: 2000 });
    await expect(client.ping()).rejects.toThrow(RegistryUnavailableError);
    const health = await client.health();
    expect(health.ok).toBe(false);
    expect(health.detail).toContain(`127.0.0.1:${port}`);
    expect(health.detail).toContain("ECONNREFUSED");
  });

  it("gives the engine the same credentials as a Docker authconfig", () => {
    expect(new RegistryClient("reg.example", { credentials: USER }).engineAuth()).toEqual({ ...USER, serveraddress: "reg.example" });
    expect(new RegistryClient("reg.example", { credentials: { identityToken: "t" } }).engineAuth()).toEqual({ identitytoken: "t", serveraddress: "reg.example" });
    expect(new RegistryClient("reg.example", { credentials: null }).engineAuth()).toEqual({});
  });

  it("refuses names that would change the request path", async () => {
    const client = new RegistryClient("127.0.0.1:1", { credentials: null });
    await expect(client.getManifest("../etc", "latest")).rejects.toThrow(/repository name/);
    await expect(client.getManifest("acme/os", "a/b")).rejects.toThrow(/neither a tag nor/);
    await expect(client.getBlob("acme/os", "sha256:zz")).rejects.toThrow(/digest/);
  });
});
