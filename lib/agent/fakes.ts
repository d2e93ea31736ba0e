// Test stand-ins for what the agent talks to: the portal's device API and an OCI registry, both in memory, and the
// machine of disk mode (partitions, grub's environment, reboots).
//
// These are mocks of things that exist elsewhere (lib/channels + lib/devices serve the device API,
// docker-registry serves images); they follow /api/device/v1's contract and the distribution API
// only as far as the agent uses them. The end-to-end test against the real portal and registry
// lives with the integration tests.
import crypto, { type KeyObject } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { gzipSync } from "node:zlib";
import tar from "tar-stream";
import type { DiskSystem } from "./disk";
import type { StatusReport } from "./http";
import type { SlotName } from "./slots";

export interface LayerEntry {
  name: string;
  type?: tar.Header["type"];
  content?: string;
  linkname?: string;
  mode?: number;
}

/** A layer tar (gzip unless `gzip` is false) built in memory. */
export async function makeLayer(entries: LayerEntry[], gzip = true): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const chunk of pack) chunks.push(chunk as Buffer);
  })();
  for (const entry of entries) {
    const type = entry.type ?? (entry.content === undefined ? "directory" : "file");
    const header: Partial<tar.Header> & { name: string } = { name: entry.name, type, mode: entry.mode ?? (type === "directory" ? 0o755 : 0o644), mtime: new Date("2026-01-02T03:04:05Z") };
    if (entry.linkname !== undefined) header.linkname = entry.linkname;
    await new Promise<void>((resolve, reject) => pack.entry(header, entry.content ?? "", (err) => (err ? reject(err) : resolve())));
  }
  pack.finalize();
  await collected;
  const bytes = Buffer.concat(chunks);
  return gzip ? gzipSync(bytes) : bytes;
}

export const sha256 = (bytes: Buffer) => `sha256:${crypto.createHash("sha256").update(bytes).digest("hex")}`;

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

async function close(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

const GZIP_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip";

/** An OCI registry in memory: GET/HEAD of manifests (by digest or tag) and blobs of one repository. */
export class FakeRegistry {
  readonly blobs = new Map<string, Buffer>();
  readonly manifests = new Map<string, { bytes: Buffer; mediaType: string }>();
  readonly tags = new Map<string, string>();
  /** Bytes to serve instead of a blob's own, to play a registry whose storage was altered. */
  readonly tampered = new Map<string, Buffer>();
  readonly requests: string[] = [];
  host = "";
  private readonly server = http.createServer((req, res) => this.serve(req, res));

  async start(): Promise<string> {
    this.host = `127.0.0.1:${await listen(this.server)}`;
    return this.host;
  }
  stop(): Promise<void> {
    return close(this.server);
  }

  addBlob(bytes: Buffer): string {
    const digest = sha256(bytes);
    this.blobs.set(digest, bytes);
    return digest;
  }

  addManifest(manifest: object, mediaType: string, tag?: string): string {
    const bytes = Buffer.from(JSON.stringify(manifest));
    const digest = sha256(bytes);
    this.manifests.set(digest, { bytes, mediaType });
    if (tag) this.tags.set(tag, digest);
    return digest;
  }

  /** Stores an image of these layers; returns its manifest digest. */
  addImage(layers: Buffer[], opts: { tag?: string; layerMediaType?: string } = {}): string {
    const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } }));
    const mediaType = "application/vnd.oci.image.manifest.v1+json";
    return this.addManifest(
      {
        schemaVersion: 2,
        mediaType,
        config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: this.addBlob(config), size: config.length },
        layers: layers.map((layer) => ({ mediaType: opts.layerMediaType ?? GZIP_LAYER, digest: this.addBlob(layer), size: layer.length })),
      },
      mediaType,
      opts.tag,
    );
  }

  private serve(req: http.IncomingMessage, res: http.ServerResponse) {
    this.requests.push(`${req.method} ${req.url}`);
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(req.url ?? "");
    if (req.url === "/v2/") return res.writeHead(200).end("{}");
    if (!m) return res.writeHead(404).end();
    const [, , kind, reference] = m;
    if (kind === "manifests") {
      const digest = this.tags.get(reference) ?? reference;
      const manifest = this.manifests.get(digest);
      if (!manifest) return res.writeHead(404).end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}');
      res.writeHead(200, { "Content-Type": manifest.mediaType, "Docker-Content-Digest": digest, "Content-Length": manifest.bytes.length });
      return res.end(req.method === "HEAD" ? undefined : manifest.bytes);
    }
    const bytes = this.tampered.get(reference) ?? this.blobs.get(reference);
    if (!bytes) return res.writeHead(404).end('{"errors":[{"code":"BLOB_UNKNOWN"}]}');
    res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": bytes.length });
    res.end(req.method === "HEAD" ? undefined : bytes);
  }
}

/** The portal's device API: register, a signed channel document (with ETag), status reports. */
export class FakePortal {
  readonly keys = crypto.generateKeyPairSync("ed25519");
  readonly deviceId = crypto.randomUUID();
  readonly secret = "strata_dev_test";
  readonly token = "strata_reg_test";
  /** The document served by GET /channel (serialised as given); null answers 404. */
  document: Record<string, unknown> | null = null;
  /** Key the document is signed with (another one plays a forger). */
  signingKey: KeyObject = this.keys.privateKey;
  /** Changes the body after signing, to play someone altering it on the way. */
  alter: ((body: Buffer) => Buffer) | null = null;
  readonly reports: StatusReport[] = [];
  /** The status POST /status answers with (503 plays a portal that cannot take reports for now). */
  statusAnswer = 204;
  readonly channelRequests: Array<{ ifNoneMatch: string | null; status: number }> = [];
  url = "";
  private sequence = 0;
  private readonly server = http.createServer((req, res) => void this.serve(req, res));

  get publicKeyPem(): string {
    return this.keys.publicKey.export({ type: "spki", format: "pem" }).toString();
  }

  async start(): Promise<string> {
    this.url = `http://127.0.0.1:${await listen(this.server)}`;
    return this.url;
  }
  stop(): Promise<void> {
    return close(this.server);
  }

  /** Publishes a new document for the device, with the next sequence, as the server does on a channel change. */
  publish(target: { image: string; digest: string | null; version: string | null; releaseId: string | null } | null, overrides: Record<string, unknown> = {}) {
    const issuedAt = new Date();
    this.document = {
      schema: "strata.channel.v1",
      sequence: ++this.sequence,
      issuedAt: issuedAt.toISOString(),
      expiresAt: new Date(issuedAt.getTime() + 24 * 3600 * 1000).toISOString(),
      device: this.deviceId,
      flavour: { id: crypto.randomUUID(), name: "web" },
      channel: { id: crypto.randomUUID(), name: "stable", paused: false, haltReason: null },
      pinned: false,
      release: null,
      target,
      ...overrides,
    };
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const json = (status: number, value: unknown) => res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(value));
    const path = req.url ?? "";

    if (req.method === "POST" && path === "/api/device/v1/register") {
      const input = JSON.parse(body.toString()) as { token?: string; name?: string };
      if (input.token !== this.token) return json(401, { error: { code: "unauthenticated", message: "unknown registration token" } });
      return json(201, {
        deviceId: this.deviceId,
        secret: this.secret,
        channel: { id: crypto.randomUUID(), name: "stable" },
        flavour: { id: crypto.randomUUID(), name: "web" },
        publicKey: this.publicKeyPem,
      });
    }
    if (req.headers.authorization !== `Bearer ${this.secret}` || req.headers["x-strata-device"] !== this.deviceId) {
      return json(401, { error: { code: "unauthenticated", message: "unknown device secret" } });
    }
    if (req.method === "GET" && path === "/api/device/v1/channel") {
      if (!this.document) return json(404, { error: { code: "not_found", message: "no document" } });
      const signed = Buffer.from(JSON.stringify(this.document));
      const etag = `"${crypto.createHash("sha256").update(signed).digest("hex").slice(0, 32)}"`;
      const ifNoneMatch = (req.headers["if-none-match"] as string | undefined) ?? null;
      if (ifNoneMatch === etag) {
        this.channelRequests.push({ ifNoneMatch, status: 304 });
        return res.writeHead(304, { ETag: etag }).end();
      }
      this.channelRequests.push({ ifNoneMatch, status: 200 });
      const signature = crypto.sign(null, signed, this.signingKey).toString("base64");
      const sent = this.alter ? this.alter(signed) : signed;
      return res.writeHead(200, { "Content-Type": "application/json", ETag: etag, "X-Strata-Signature": signature }).end(sent);
    }
    if (req.method === "POST" && path === "/api/device/v1/status") {
      if (this.statusAnswer !== 204) return json(this.statusAnswer, { error: { code: "unavailable", message: "try again later" } });
      this.reports.push(JSON.parse(body.toString()) as StatusReport);
      return res.writeHead(204).end();
    }
    return json(404, { error: { code: "not_found", message: `no route ${req.method} ${path}` } });
  }
}

/**
 * A Strata disk as the agent sees it in disk mode, in a temporary folder: each partition's file system is a
 * directory (the slots' are also their mount points), grubenv is a map, and boot() and markGood() play what
 * grub.cfg and strata-boot-good.service do. Follows lib/disk-images/grub.cfg and the system/boot package.
 */
export class FakeDiskSystem implements DiskSystem {
  /** The slot grub booted: strata.slot= on the kernel command line. */
  booted: SlotName = "a";
  /** grub-editenv <esp>/grub/grubenv list, as make-disk.sh leaves it. */
  grubenv: Record<string, string> = { strata_active: "a" };
  partitions = new Set(["strata-esp", "strata-a", "strata-b", "strata-state"]);
  osRelease: string | null = null;
  readonly mounted = new Map<string, string>();
  readonly calls: string[] = [];
  reboots = 0;
  /** Makes the named call throw, to play a machine where it fails. */
  failing: string | null = null;
  readonly esp: string;

  constructor(readonly dir: string) {
    this.esp = path.join(dir, "esp");
    fs.mkdirSync(path.join(this.esp, "grub"), { recursive: true });
  }

  private call(what: string) {
    this.calls.push(what);
    if (this.failing && what.startsWith(this.failing)) throw new Error(`${what}: failed on purpose`);
  }

  /** grub.cfg at boot: a slot on trial spends a try; with none left, grub falls back and names the failed slot. */
  boot(): void {
    const env = this.grubenv;
    if (env.strata_tries) {
      if (["1", "2", "3"].includes(env.strata_tries)) env.strata_tries = String(Number(env.strata_tries) - 1);
      else {
        env.strata_failed = env.strata_active;
        env.strata_active = env.strata_previous;
        env.strata_previous = env.strata_failed;
        env.strata_tries = "";
      }
    }
    this.booted = env.strata_active === "b" ? "b" : "a";
    this.mounted.clear();
  }

  /** strata-boot-good.service once multi-user.target is reached. */
  markGood(): void {
    if (this.grubenv.strata_tries && this.grubenv.strata_active === this.booted) delete this.grubenv.strata_tries;
  }

  /** The file system of a slot's partition (also where the agent mounts it). */
  slotContent(slot: SlotName): string {
    return path.join(this.dir, `strata-${slot}`);
  }

  async readCmdline() {
    return `BOOT_IMAGE=/boot/vmlinuz root=PARTUUID=0000 ro rootwait panic=30 quiet strata.slot=${this.booted} strata.state=PARTUUID=0005\n`;
  }
  async partition(name: string) {
    return this.partitions.has(name) ? `/dev/disk/by-partlabel/${name}` : null;
  }
  async mountEsp() {
    this.call("mountEsp");
    return this.esp;
  }
  slotMountPoint(slot: SlotName) {
    return this.slotContent(slot);
  }
  async makeFilesystem(device: string, label: string) {
    this.call(`mkfs ${label} ${device}`);
    if ([...this.mounted.values()].includes(device)) throw new Error(`${device} is mounted; will not make a filesystem here!`);
    const slot = label.slice("strata-".length) as SlotName;
    if (slot === this.booted) throw new Error(`the test's agent formatted the running slot ${slot}`);
    fs.rmSync(this.slotContent(slot), { recursive: true, force: true });
    fs.mkdirSync(this.slotContent(slot), { recursive: true });
  }
  async mount(device: string, dir: string) {
    this.call(`mount ${device} ${dir}`);
    this.mounted.set(dir, device);
  }
  async unmount(dir: string) {
    if (!this.mounted.has(dir)) return;
    this.call(`umount ${dir}`);
    this.mounted.delete(dir);
  }
  async sync() {
    this.call("sync");
  }
  async readGrubenv(file: string) {
    this.expectGrubenv(file);
    return { ...this.grubenv };
  }
  async setGrubenv(file: string, values: Record<string, string>) {
    this.expectGrubenv(file);
    this.call(`grub-editenv set ${Object.entries(values).map(([k, v]) => `${k}=${v}`).join(" ")}`);
    Object.assign(this.grubenv, values);
  }
  async unsetGrubenv(file: string, names: string[]) {
    this.expectGrubenv(file);
    this.call(`grub-editenv unset ${names.join(" ")}`);
    for (const name of names) delete this.grubenv[name];
  }
  async reboot() {
    this.call("reboot");
    this.reboots++;
  }
  async readOsRelease() {
    return this.osRelease;
  }

  private expectGrubenv(file: string) {
    if (file !== path.join(this.esp, "grub", "grubenv")) throw new Error(`grub-editenv on ${file}, not the ESP's grubenv`);
  }
}
