// The boot test: a flavour of the real base manifest (kernel included) is built, made into a disk image and booted in
// QEMU, all through the REST API of the running stack (scripts/test.ts starts it: `npm test -- boot`). Over ssh it
// checks what a device needs; then the device agent in the machine upgrades it to a second build through its channel
// (slot B), and a deliberately broken third build falls back to slot B by itself.
//
// Nothing is mocked. The machine reaches the portal and the registry at 10.0.2.2 (QEMU's user-mode address of this
// host, in the portal's certificate through TLS_HOSTS); ssh comes in on 127.0.0.1 only.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { eq } from "drizzle-orm";
import { createDb } from "../db";
import { users } from "../db/schema";
import { loadActor } from "../auth/actor";
import { createToken } from "../auth/tokens";
import { makeSshKey, ssh, startVm, waitForSsh, type SshTarget, type Vm } from "../testing/vm";
import { fetchAgainOnStaleSocket } from "../testing/fetch-again";

// Not BASE_URL: vitest sets that one to Vite's "/".
const BASE_URL = process.env.STRATA_PORTAL_URL!;
const DATABASE_URL = process.env.DATABASE_URL!;
const ADMIN_EMAIL = process.env.E2E_ADMIN_EMAIL!;
const REGISTRY_URL = process.env.REGISTRY_URL!;
const CA_FILE = process.env.NODE_EXTRA_CA_CERTS!;
const workDir = path.resolve(".data/test/boot");
const stamp = Date.now().toString(36);
const log = (line: string) => console.log(`[boot] ${line}`);

class Api {
  constructor(private readonly token: string) {}
  async call<T>(method: string, route: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    // Minutes pass between calls while a VM boots: a connection the server closed meanwhile is not a failure.
    const res = await fetchAgainOnStaleSocket(`${BASE_URL}/api/v1${route}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${route}: HTTP ${res.status}: ${text.slice(0, 500)}`);
    return (text ? JSON.parse(text) : null) as T;
  }
  get = <T>(route: string) => this.call<T>("GET", route);
  post = <T>(route: string, body: unknown = {}) => this.call<T>("POST", route, body);
  raw = (route: string, headers: Record<string, string> = {}) => fetchAgainOnStaleSocket(`${BASE_URL}/api/v1${route}`, { headers: { authorization: `Bearer ${this.token}`, ...headers } });
}

interface Build {
  id: string;
  status: string;
  version: string;
  error: string | null;
  imageDigest: string | null;
}
interface DiskImage {
  id: string;
  status: string;
  error: string | null;
  progress: number;
  files: Array<{ format: string; digest: string; size: number }>;
}

let api: Api;
let key: { keyFile: string; publicKey: string };
let flavourId: string;
let channelId: string;
let registrationToken: string;
let baseManifestId: string;
let caPem: string;
const portalForVm = () => `https://10.0.2.2:${new URL(BASE_URL).port}`;

async function poll<T>(what: string, read: () => Promise<T>, done: (v: T) => boolean, timeoutMs: number, every = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await read();
  while (!done(last)) {
    if (Date.now() > deadline) throw new Error(`${what}: still not done after ${timeoutMs / 1000} s: ${JSON.stringify(last).slice(0, 500)}`);
    await sleep(every);
    last = await read();
  }
  return last;
}

async function saveAndBuild(layers: unknown[]): Promise<Build> {
  await api.post(`/flavours/${flavourId}/revisions`, { layers, message: "boot test" });
  const started = await api.post<Build>(`/flavours/${flavourId}/builds`, {});
  const build = await poll("build", () => api.get<Build>(`/builds/${started.id}`), (b) => ["succeeded", "failed", "cancelled"].includes(b.status), 1_800_000, 5000);
  expect(build.status, build.error ?? "").toBe("succeeded");
  log(`build ${build.version} succeeded (${build.imageDigest})`);
  return build;
}

async function catalogLayer(entry: string, input: unknown): Promise<unknown> {
  return (await api.post<{ layer: unknown }>(`/catalog/${entry}`, input)).layer;
}

/** The layers every build here has; `check` names the build in /etc/strata-boot-check (an overlay file of the flavour). */
async function layers(check: string, extra: unknown[] = []): Promise<unknown[]> {
  return [
    await catalogLayer("users", { users: [{ username: "tester", authorizedKeys: [key.publicKey] }] }),
    {
      category: "layer",
      name: "boot-check",
      version: "1",
      description: "what the boot test reads back",
      files: [
        { path: "/etc/strata-boot-check", mode: "0644", content: `${check}\n` },
        // root's key, for the checks that need root (writing /etc, rebooting)
        { path: "/root/.ssh/authorized_keys", mode: "0600", content: `${key.publicKey}\n` },
      ],
    },
    await catalogLayer("device-agent", {
      portalUrl: portalForVm(),
      caPem,
      registrationToken,
      registryMirror: `${REGISTRY_URL}=http://10.0.2.2:${REGISTRY_URL.split(":").pop()}`,
      intervalSeconds: 10,
      bootTries: 1,
    }),
    ...extra,
  ];
}

beforeAll(async () => {
  fs.rmSync(workDir, { recursive: true, force: true });
  fs.mkdirSync(workDir, { recursive: true });
  key = makeSshKey(workDir);
  caPem = fs.readFileSync(CA_FILE, "utf8");
  const { db, pool } = createDb(DATABASE_URL, { max: 1 });
  try {
    const [admin] = await db.select({ id: users.id }).from(users).where(eq(users.email, ADMIN_EMAIL));
    const actor = await loadActor(db, admin.id, "session");
    api = new Api((await createToken(db, actor, { name: `boot test ${stamp}` })).token);
  } finally {
    await pool.end();
  }
  const { baseManifests } = await api.get<{ baseManifests: Array<{ id: string; name: string; version: string }> }>("/base-manifests");
  const latest = baseManifests.filter((b) => b.name === "strata-base").sort((a, b) => Number(b.version) - Number(a.version))[0];
  baseManifestId = latest.id;
  const flavour = await api.post<{ id: string }>("/flavours", { baseManifestId, name: `boot-${stamp}` });
  flavourId = flavour.id;
  const { channels } = await api.get<{ channels: Array<{ id: string; name: string }> }>(`/flavours/${flavourId}/channels`);
  channelId = channels.find((c) => c.name === "stable")!.id;
  registrationToken = (await api.post<{ token: string }>(`/channels/${channelId}/registration-tokens`, { name: "boot test", maxUses: 5 })).token;
}, 120_000);

const vms: Vm[] = [];
afterAll(async () => {
  for (const vm of vms) await vm.stop();
});

async function boot(disk: string, firmware: "uefi" | "bios", name: string): Promise<{ vm: Vm; root: SshTarget; tester: SshTarget; seconds: number }> {
  const vm = await startVm({ disk, format: "qcow2", firmware, workDir, name, log });
  vms.push(vm);
  const root = { port: vm.sshPort, user: "root", keyFile: key.keyFile };
  const seconds = await waitForSsh(root, 240_000, vm);
  log(`${name}: ssh answered ${seconds.toFixed(0)} s after start (${vm.accel})`);
  return { vm, root, tester: { ...root, user: "tester" }, seconds };
}

const run = (target: SshTarget, command: string) => {
  const r = ssh(target, command);
  if (r.code !== 0) throw new Error(`ssh ${target.user}: ${command}: exit ${r.code}: ${r.stderr.trim()}`);
  return r.stdout.trim();
};

/** Waits until systemd has finished starting (running or degraded) and returns the state and the failed units. */
async function systemState(target: SshTarget): Promise<{ state: string; failed: string }> {
  const state = await poll("systemd", async () => ssh(target, "systemctl is-system-running").stdout.trim(), (s) => s !== "starting" && s !== "initializing", 180_000, 2000);
  return { state, failed: ssh(target, "systemctl --failed --no-legend --plain").stdout.trim() };
}

/** Reboots the machine and waits for ssh from the new boot (the boot id changes). */
async function reboot(target: SshTarget, vm: Vm) {
  const before = run(target, "cat /proc/sys/kernel/random/boot_id");
  ssh(target, "systemctl reboot", { timeoutMs: 15_000 });
  await poll("reboot", async () => ssh(target, "cat /proc/sys/kernel/random/boot_id", { timeoutMs: 10_000 }).stdout.trim(), (id) => id !== "" && id !== before, 300_000, 3000).catch((err) => {
    throw new Error(`${(err as Error).message}; serial console:\n${vm.serial().slice(-3000)}`);
  });
}

describe("a disk image of the base manifest", () => {
  let disk: string;
  let build1: Build;

  it("is made from a succeeded build and downloaded over HTTPS (Range, sha256)", async () => {
    build1 = await saveAndBuild(await layers("build 1"));
    // Release 1.0.0 is build 1, so the agent in the machine finds itself up to date.
    const release = await api.post<{ id: string }>(`/channels/${channelId}/releases`, { buildId: build1.id, version: "1.0.0" });
    await api.post(`/releases/${release.id}/approve`, { rolloutPercent: 100 });

    const asked = await api.post<DiskImage>(`/builds/${build1.id}/disk-images`, { formats: ["raw", "qcow2"] });
    const made = await poll("disk image", () => api.get<DiskImage>(`/disk-images/${asked.id}`), (d) => d.status === "succeeded" || d.status === "failed", 900_000);
    expect(made.status, made.error ?? "").toBe("succeeded");

    // Range: the raw image's first sector is the protective MBR with grub's boot code.
    const raw = made.files.find((f) => f.format === "raw")!;
    const first = await api.raw(`/disk-images/${made.id}/download/raw`, { range: "bytes=0-511" });
    expect(first.status).toBe(206);
    expect(first.headers.get("content-range")).toBe(`bytes 0-511/${raw.size}`);
    const mbr = Buffer.from(await first.arrayBuffer());
    expect(mbr.readUInt16LE(510)).toBe(0xaa55);

    const qcow2 = made.files.find((f) => f.format === "qcow2")!;
    const res = await api.raw(`/disk-images/${made.id}/download/qcow2`);
    expect(res.status).toBe(200);
    disk = path.join(workDir, "disk.qcow2");
    const hash = createHash("sha256");
    const out = fs.createWriteStream(disk);
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      if (!out.write(chunk)) await new Promise<void>((r) => out.once("drain", () => r()));
    }
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    expect(`sha256:${hash.digest("hex")}`).toBe(qcow2.digest);
    expect(fs.statSync(disk).size).toBe(qcow2.size);
  }, 2_400_000);

  it("boots under UEFI: multi-user with no failed units, read-only /, writable state that survives a reboot, DHCP, ssh", async () => {
    const { vm, root, tester } = await boot(disk, "uefi", "uefi");
    const { state, failed } = await systemState(root);
    expect(failed, `failed units:\n${failed}`).toBe("");
    expect(state).toBe("running");

    const osRelease = run(tester, "cat /etc/os-release");
    expect(osRelease).toContain(`VARIANT="boot-${stamp}"`);
    expect(osRelease).toContain(`IMAGE_VERSION=${build1.version.replace(/[^a-z0-9._-]/g, "_")}`);
    expect(run(tester, "cat /etc/strata-boot-check")).toBe("build 1");
    expect(run(root, "findmnt -no OPTIONS /").split(",")).toContain("ro");
    expect(ssh(root, "touch /usr/strata-write-test").code).not.toBe(0);
    expect(run(root, "cat /proc/cmdline")).toContain("strata.slot=a");
    // Networking by DHCP: the default route goes to QEMU's gateway.
    expect(run(root, "ip route show default")).toContain("via 10.0.2.2");
    // ssh has host keys of its own, made on this machine.
    expect(run(root, "ls /etc/ssh")).toMatch(/ssh_host_ed25519_key\.pub/);
    // The serial console shows the boot (grub sends it to ttyS0, and so does the kernel).
    expect(vm.serial()).toMatch(/Strata: booting slot a/);

    // Writable /etc, /var, /home and /root on strata-state, kept across a reboot.
    run(root, "echo kept > /etc/strata-persist && echo kept > /var/lib/strata-persist && echo kept > /root/strata-persist && echo kept > /home/tester/strata-persist");
    await reboot(root, vm);
    for (const file of ["/etc/strata-persist", "/var/lib/strata-persist", "/root/strata-persist", "/home/tester/strata-persist"]) expect(run(root, `cat ${file}`)).toBe("kept");
    ssh(root, "systemctl poweroff", { timeoutMs: 15_000 });
    await Promise.race([vm.exited, sleep(60_000)]);
    await vm.stop();
  }, 900_000);

  it("boots the same disk under BIOS (SeaBIOS), with the state written under UEFI", async () => {
    const { vm, root } = await boot(disk, "bios", "bios");
    expect(run(root, "cat /etc/strata-persist")).toBe("kept");
    expect(run(root, "cat /etc/strata-boot-check")).toBe("build 1");
    const { failed } = await systemState(root);
    expect(failed).toBe("");
    // The agent registered this machine and found it up to date with release 1.0.0 (slot A holds build 1).
    const device = await poll(
      "device report",
      async () => (await api.get<{ devices: Array<{ id: string; currentVersion: string | null; lastResult: string | null; lastMessage: string | null }> }>(`/devices?channelId=${channelId}`)).devices[0],
      (d) => d?.lastResult === "success",
      300_000,
    );
    expect(device.currentVersion).toBe("1.0.0");
    (globalThis as { bootVm?: { vm: Vm; root: SshTarget; deviceId: string } }).bootVm = { vm, root, deviceId: device.id };
  }, 900_000);

  it("upgrades itself through its channel to a second build in slot B, and falls back from a broken third build", async () => {
    const { vm, root, deviceId } = (globalThis as { bootVm?: { vm: Vm; root: SshTarget; deviceId: string } }).bootVm!;
    const device = () => api.get<{ currentVersion: string | null; lastResult: string | null; lastMessage: string | null }>(`/devices/${deviceId}`);

    const build2 = await saveAndBuild(await layers("build 2"));
    const release2 = await api.post<{ id: string }>(`/channels/${channelId}/releases`, { buildId: build2.id, version: "1.1.0" });
    await api.post(`/releases/${release2.id}/approve`, { rolloutPercent: 100 });
    const upgraded = await poll("upgrade to 1.1.0", device, (d) => d.currentVersion === "1.1.0" && d.lastResult === "success", 1_200_000, 5000);
    log(`upgraded: ${upgraded.lastMessage}`);
    await waitForSsh(root, 300_000, vm);
    expect(run(root, "cat /etc/strata-boot-check")).toBe("build 2");
    expect(run(root, "cat /proc/cmdline")).toContain("strata.slot=b");
    expect(run(root, "cat /etc/strata-persist")).toBe("kept");

    // Build 3 never reaches multi-user.target: a unit it requires fails. Its watchdog reboots after 60 s and grub,
    // with no tries left, goes back to slot B.
    const broken = {
      category: "layer",
      name: "broken-boot",
      version: "1",
      files: [
        {
          path: "/etc/systemd/system/strata-broken.service",
          mode: "0644",
          content: "[Unit]\nDescription=Fails on purpose (boot test)\nBefore=multi-user.target\n\n[Service]\nType=oneshot\nExecStart=/bin/false\n\n[Install]\nRequiredBy=multi-user.target\n",
        },
      ],
      steps: ["systemctl enable strata-broken.service"],
    };
    const build3 = await saveAndBuild(await layers("build 3", [broken, await catalogLayer("kernel-cmdline", { cmdline: "strata.boot_timeout=60" })]));
    const release3 = await api.post<{ id: string }>(`/channels/${channelId}/releases`, { buildId: build3.id, version: "1.2.0" });
    await api.post(`/releases/${release3.id}/approve`, { rolloutPercent: 100 });
    const fellBack = await poll("fallback from 1.2.0", device, (d) => d.lastResult === "failure", 1_500_000, 5000);
    log(`fell back: ${fellBack.lastMessage}`);
    expect(fellBack.lastMessage).toMatch(/1\.2\.0/);
    await waitForSsh(root, 300_000, vm);
    expect(run(root, "cat /etc/strata-boot-check")).toBe("build 2");
    expect(run(root, "cat /proc/cmdline")).toContain("strata.slot=b");
    const { failed } = await systemState(root);
    expect(failed).toBe("");
  }, 3_600_000);
});
