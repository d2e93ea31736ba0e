// RegistryClient against Debian's real docker-registry with htpasswd sign-in, and the Docker engine pushing to it with the client's credentials.
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { gzipSync } from "node:zlib";
import bcrypt from "bcryptjs";
import tar from "tar-stream";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { ensureRegistry, type RegistryService } from "../../scripts/dev-stack/registry";
import { dockerFromEnv } from "../builder/engine/client";
import { followProgress } from "../builder/engine/streams";
import { RegistryAuthError, RegistryClient, RegistryNotFoundError } from "./client";

const sha256 = (bytes: Buffer) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
const USER = { username: "strata-ci", password: `pw-${randomBytes(6).toString("hex")}` };

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A one-file root filesystem as a tar, for `docker import`. */
async function tinyRootfs(): Promise<Buffer> {
  const pack = tar.pack();
  pack.entry({ name: "etc/strata-test", mode: 0o644 }, `made by registry.int.test at ${new Date().toISOString()}\n`);
  pack.finalize();
  return buffer(pack as unknown as NodeJS.ReadableStream);
}

describe("RegistryClient against docker-registry with htpasswd", () => {
  let dir: string;
  let registry: RegistryService;
  let client: RegistryClient;
  const docker = dockerFromEnv();
  const engineRefs: string[] = [];

  beforeAll(async () => {
    fs.mkdirSync(path.resolve(".data/test"), { recursive: true });
    dir = fs.mkdtempSync(path.resolve(".data/test/registry-auth-"));
    const htpasswd = path.join(dir, "htpasswd");
    // docker-registry reads only bcrypt entries. Cost 5 (the minimum is 4): the registry checks the
    // hash on every request, and this password protects nothing.
    fs.writeFileSync(htpasswd, `${USER.username}:${bcrypt.hashSync(USER.password, 5)}\n`);
    registry = await ensureRegistry({ dataDir: dir, port: await freePort(), htpasswd: { path: htpasswd, realm: "strata-test" } });
    client = new RegistryClient(registry, { credentials: USER });
  });

  afterAll(async () => {
    for (const ref of engineRefs) await docker.getImage(ref).remove({ force: true }).catch(() => {});
    await registry?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it("pushes a blob, a config and a manifest, and reads them back verified", async () => {
    await client.ping();
    const repo = "strata-test/client";
    const layer = gzipSync(await tinyRootfs());
    const config = Buffer.from(
      JSON.stringify({
        architecture: "amd64",
        os: "linux",
        config: {},
        rootfs: { type: "layers", diff_ids: [sha256(await tinyRootfs())] },
      }),
    );
    await client.putBlob(repo, sha256(layer), layer);
    await client.putBlob(repo, sha256(config), config);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha256(config), size: config.length },
        layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: sha256(layer), size: layer.length }],
      }),
    );
    const digest = await client.putManifest(repo, "v1", manifest, "application/vnd.oci.image.manifest.v1+json");
    expect(digest).toBe(sha256(manifest));

    const byTag = await client.getManifest(repo, "v1");
    expect(byTag.digest).toBe(digest);
    expect(byTag.mediaType).toBe("application/vnd.oci.image.manifest.v1+json");
    expect(byTag.bytes.equals(manifest)).toBe(true);
    expect((await client.getManifest(repo, digest)).bytes.equals(manifest)).toBe(true);
    expect(await client.headManifest(repo, "v1")).toEqual({ digest, mediaType: "application/vnd.oci.image.manifest.v1+json", size: manifest.length });

    expect((await client.getBlob(repo, sha256(config))).equals(config)).toBe(true);
    expect((await buffer(await client.openBlob(repo, sha256(layer)))).equals(layer)).toBe(true);
    expect(await client.headBlob(repo, sha256(layer))).toEqual({ size: layer.length });

    // Same storage: docker-registry links the blob into the other repository without an upload.
    expect(await client.mountBlob("strata-test/mounted", sha256(layer), repo)).toBe(true);
    expect(await client.headBlob("strata-test/mounted", sha256(layer))).toEqual({ size: layer.length });
    await client.copyBlob(repo, "strata-test/copied", sha256(config));
    expect((await client.getBlob("strata-test/copied", sha256(config))).equals(config)).toBe(true);

    expect(await client.headManifest(repo, "missing")).toBeNull();
    await expect(client.getManifest(repo, "missing")).rejects.toThrow(RegistryNotFoundError);
  });

  it("lets the Docker engine push with engineAuth(), and reads the pushed manifest back", async () => {
    const repoRef = `${registry.url}/strata-test/engine`;
    const tag = `t${Date.now()}`;
    engineRefs.push(`${repoRef}:${tag}`);
    await followProgress(await docker.importImage(Readable.from([await tinyRootfs()]), { repo: repoRef, tag }));

    const pushStream = (await docker.getImage(repoRef).push({ tag, authconfig: client.engineAuth() } as Record<string, unknown>)) as NodeJS.ReadableStream;
    const messages = await followProgress(pushStream);
    const pushed = messages.map((m) => m.aux?.Digest).find((d): d is string => typeof d === "string");
    expect(pushed).toMatch(/^sha256:[0-9a-f]{64}$/);

    const fetched = await client.getManifest("strata-test/engine", tag);
    expect(fetched.digest).toBe(pushed);
    expect(fetched.mediaType).toBe("application/vnd.docker.distribution.manifest.v2+json");
    const [layer] = (fetched.manifest as { layers: Array<{ digest: string; size: number }> }).layers;
    expect((await client.headBlob("strata-test/engine", layer.digest))?.size).toBe(layer.size);
  });

  it("refuses an engine push without credentials, inside the 200 progress stream", async () => {
    const repoRef = `${registry.url}/strata-test/engine-anonymous`;
    engineRefs.push(`${repoRef}:latest`);
    await followProgress(await docker.importImage(Readable.from([await tinyRootfs()]), { repo: repoRef, tag: "latest" }));
    const anonymous = new RegistryClient(registry, { credentials: null });
    const pushStream = (await docker.getImage(repoRef).push({ tag: "latest", authconfig: anonymous.engineAuth() } as Record<string, unknown>)) as NodeJS.ReadableStream;
    await expect(followProgress(pushStream)).rejects.toThrow(/no basic auth credentials|unauthorized|authentication required/i);
  });

  it("with wrong credentials throws RegistryAuthError naming the registry", async () => {
    const wrong = new RegistryClient(registry, { credentials: { username: USER.username, password: "wrong" } });
    const err = await wrong.getManifest("strata-test/client", "v1").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryAuthError);
    expect((err as Error).message).toContain(registry.url);
    expect((err as Error).message).toContain(`credentials for user "${USER.username}" were sent`);
    expect((await wrong.health()).ok).toBe(false);
  });

  it("anonymously throws RegistryAuthError that says how to sign in", async () => {
    const anonymous = new RegistryClient(registry, { credentials: null });
    const err = await anonymous.ping().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryAuthError);
    expect((err as Error).message).toContain(registry.url);
    expect((err as Error).message).toContain(`docker login ${registry.url}`);
  });

  it("signs in with what `docker login` wrote to $DOCKER_CONFIG/config.json", async () => {
    const configDir = path.join(dir, "docker-config");
    fs.mkdirSync(configDir, { recursive: true });
    const auth = Buffer.from(`${USER.username}:${USER.password}`).toString("base64");
    fs.writeFileSync(path.join(configDir, "config.json"), JSON.stringify({ auths: { [registry.url]: { auth } } }));
    vi.stubEnv("DOCKER_CONFIG", configDir);
    vi.stubEnv("REGISTRY_USERNAME", "");
    vi.stubEnv("REGISTRY_PASSWORD", "");
    const fromConfig = new RegistryClient(registry.url);
    expect(await fromConfig.health()).toMatchObject({ ok: true });
    expect(fromConfig.engineAuth()).toEqual({ ...USER, serveraddress: registry.url });
  });
});
