// Benchmark of disk images as users get them, in one run: `npm run bench:disk` (BENCH_ROUNDS=<n>, default 3).
//
// It starts the real stack as the other benches do (stack.ts: a fresh embedded PostgreSQL, the machine's Docker engine,
// a registry of its own on 127.0.0.1:5079, the web server and ONE worker with default settings; data in
// .data/bench/run-<nonce>, deleted at the end) and drives the REST API with personal access tokens, as clicks would:
//   0. A flavour forked from the latest bundled base manifest (the kernel and everything) plus a user with an ssh key;
//      Build, succeeded (the machine's build cache makes this quick after the first run; it is not measured).
//   1. Making the disk image: POST /api/v1/builds/{id}/disk-images with the default formats (raw and qcow2) and the
//      default size, polled every 200 ms until it has succeeded (downloadable). Each round asks for a size one MiB
//      larger, so that each makes a new image rather than finding the previous one. Baseline, in the same round on
//      the same engine: `docker export <container of the same image> | tar -x` and `mke2fs -d` of that folder into a
//      file of the image's slot size: the root filesystem as a file system, nothing else. Target ≤ 1.5×. Each side
//      starts after a `sync` (untimed), so neither pays for the other's writes.
//      Publishing to the registry (zstd copies, after the image is downloadable) is printed for information.
//   2. Booting: the qcow2 file downloaded through the API, booted with QEMU under UEFI (OVMF), from QEMU's start to ssh
//      answering as the flavour's user. Targets: < 60 s under TCG on 2 cores, < 10 s with KVM (used only when a KVM
//      guest really runs here; see lib/testing/vm.ts).
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ensureDebianPackages, latestBaseManifest, runBench, startBenchStack, type Api } from "./stack";
import { makeSshKey, ssh, startVm, waitForSsh } from "@/lib/testing/vm";

process.chdir(fileURLToPath(new URL("..", import.meta.url)));

const nonce = randomBytes(4).toString("hex");
const ROUNDS = Math.max(1, Math.floor(Number(process.env.BENCH_ROUNDS || 3)) || 3);
const REGISTRY_PORT = 5079;
const POLL_MS = 200;
const TARGETS = { disk: 1.5, bootTcg: 60, bootKvm: 10 };
const dataDir = path.resolve(".data/bench");
const runDir = path.join(dataDir, `run-${nonce}`);
const log = (msg: string) => console.log(`[bench:disk] ${msg}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Build {
  id: string;
  status: string;
  version: string;
  error: string | null;
  imageRef: string | null;
  imageDigest: string | null;
}
interface DiskImage {
  id: string;
  status: string;
  error: string | null;
  sizeBytes: number;
  artifactRef: string | null;
  layout: { partitions: Array<{ name: string; size: number }> };
  files: Array<{ format: string; digest: string; size: number }>;
}

async function until<T>(read: () => Promise<T>, done: (v: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not done after ${timeoutMs / 1000} s`);
    await sleep(POLL_MS);
  }
}

function sh(script: string): number {
  const started = performance.now();
  const r = spawnSync("sh", ["-ec", script], { stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
  if (r.status !== 0) throw new Error(`baseline failed: ${r.stderr}`);
  return (performance.now() - started) / 1000;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const s = (seconds: number) => `${seconds.toFixed(1)} s`;

runBench(async (teardown) => {
  ensureDebianPackages(
    [
      ["qemu-system-x86_64", "qemu-system-x86"],
      ["ssh", "openssh-client"],
      ["ssh-keygen", "openssh-client"],
    ],
    log,
  );
  if (!fs.existsSync("/usr/share/OVMF/OVMF_CODE.fd")) ensureDebianPackages([["ovmf-is-missing", "ovmf"]], log);
  const { services, portal } = await startBenchStack({ dataDir, runDir, nonce, registryPort: REGISTRY_PORT, cacheRepository: `bench-cache-${nonce}`, log }, teardown);
  const api: Api = portal.customer;
  const key = makeSshKey(path.join(runDir, "ssh"));

  // 0. The flavour and its build.
  const base = await latestBaseManifest<{ id: string; name: string; version: string }>(api);
  const flavour = await api.post<{ id: string }>("/flavours", { baseManifestId: base.id, name: `bench-disk-${nonce}` });
  const { layer } = await api.post<{ layer: unknown }>("/catalog/users", { users: [{ username: "bench", authorizedKeys: [key.publicKey] }] });
  await api.post(`/flavours/${flavour.id}/revisions`, { layers: [layer], message: "bench" });
  const started = await api.post<Build>(`/flavours/${flavour.id}/builds`, {});
  log(`building ${base.name} ${base.version} + a user (cached packages are reused)…`);
  const build = await until(() => api.get<Build>(`/builds/${started.id}`), (b) => ["succeeded", "failed", "cancelled"].includes(b.status), 3_600_000, "the build");
  if (build.status !== "succeeded") throw new Error(`the build ${build.status}: ${build.error}`);
  log(`build ${build.version}: ${build.imageRef}`);

  // The baseline's image: the build's, pulled by digest from the bench's registry into the engine.
  const internal = `${services.registry.url}/${build.imageRef!.split("/").slice(1).join("/").replace(/:[^/]*$/, "")}@${build.imageDigest}`;
  await new Promise<void>((resolve, reject) =>
    services.docker.pull(internal, {}, (err: Error | null, stream?: NodeJS.ReadableStream) => {
      if (err || !stream) return reject(err ?? new Error("no pull stream"));
      services.docker.modem.followProgress(stream, (e: Error | null) => (e ? reject(e) : resolve()));
    }),
  );
  teardown.defer("remove the pulled image", () => services.docker.getImage(internal).remove({ force: true }));
  const source = await services.docker.createContainer({ Image: internal, Cmd: ["/bin/true"] });
  teardown.defer("remove the baseline's container", () => source.remove({ force: true }));

  // 1. Disk images against the baseline, alternating which goes first.
  const ours: number[] = [];
  const baseline: number[] = [];
  const published: number[] = [];
  let first: DiskImage | null = null;
  for (let round = 0; round < ROUNDS; round++) {
    const measureOurs = async () => {
      const t0 = performance.now();
      const body = first ? { size: first.sizeBytes + round * 1024 * 1024 } : {};
      const asked = await api.post<DiskImage>(`/builds/${build.id}/disk-images`, body);
      const done = await until(() => api.get<DiskImage>(`/disk-images/${asked.id}`), (d) => d.status === "succeeded" || d.status === "failed", 1_800_000, "the disk image");
      if (done.status !== "succeeded") throw new Error(`the disk image failed: ${done.error}`);
      const downloadable = (performance.now() - t0) / 1000;
      const withRegistry = await until(() => api.get<DiskImage>(`/disk-images/${asked.id}`), (d) => d.artifactRef !== null || d.error !== null, 1_800_000, "publishing");
      published.push((performance.now() - t0) / 1000);
      first ??= withRegistry;
      ours.push(downloadable);
      log(`round ${round + 1}: disk image ${s(downloadable)} to downloadable, ${s(published.at(-1)!)} with the registry's copies`);
    };
    const measureBaseline = () => {
      const slot = (first?.layout.partitions.find((p) => p.name === "strata-a")?.size ?? 2 * 1024 ** 3) / 1024;
      const dir = path.join(runDir, "baseline-rootfs");
      const file = path.join(runDir, "baseline-slot.img");
      fs.rmSync(dir, { recursive: true, force: true });
      fs.mkdirSync(dir, { recursive: true });
      const seconds = sh(`docker export ${source.id} | tar -x -C ${dir}; mke2fs -q -F -t ext4 -d ${dir} ${file} ${slot}k`);
      fs.rmSync(dir, { recursive: true, force: true });
      fs.rmSync(file, { force: true });
      baseline.push(seconds);
      log(`round ${round + 1}: docker export | tar -x; mke2fs -d: ${s(seconds)}`);
    };
    // Each side starts with nothing left to write back from the one before (both write hundreds of MB to disk).
    const settle = () => spawnSync("sync");
    if (round % 2 === 0 && first) {
      settle();
      measureBaseline();
      settle();
      await measureOurs();
    } else {
      settle();
      await measureOurs();
      settle();
      measureBaseline();
    }
  }

  // 2. Boot: the first image's qcow2, downloaded as a user would.
  const qcow2 = first!.files.find((f) => f.format === "qcow2")!;
  const disk = path.join(runDir, "disk.qcow2");
  const res = await api.fetch(`/disk-images/${first!.id}/download/qcow2`);
  if (!res.ok || !res.body) throw new Error(`download: HTTP ${res.status}`);
  const out = fs.createWriteStream(disk);
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) if (!out.write(chunk)) await new Promise<void>((r) => out.once("drain", () => r()));
  await new Promise<void>((r) => out.end(() => r()));
  if (fs.statSync(disk).size !== qcow2.size) throw new Error("the download is not the file's size");
  const vm = await startVm({ disk, format: "qcow2", firmware: "uefi", workDir: runDir, name: "bench", log });
  teardown.defer("stop the virtual machine", () => vm.stop());
  const target = { port: vm.sshPort, user: "bench", keyFile: key.keyFile };
  const bootSeconds = await waitForSsh(target, 300_000, vm);
  const kernel = ssh(target, "uname -r").stdout.trim();
  log(`booted ${kernel} under ${vm.accel.toUpperCase()}: ssh after ${s(bootSeconds)}`);
  await vm.stop();

  const diskRatio = median(ours) / median(baseline);
  const bootTarget = vm.accel === "kvm" ? TARGETS.bootKvm : TARGETS.bootTcg;
  const rows = [
    ["what", "Strata", "baseline", "ratio", "target", ""],
    ["disk image (raw + qcow2, default size) → downloadable", s(median(ours)), s(median(baseline)), diskRatio.toFixed(2), `≤ ${TARGETS.disk.toFixed(2)}`, diskRatio <= TARGETS.disk ? "PASS" : "MISS"],
    ["  … and the registry's zstd copies pushed", s(median(published)), "", "", "", "(info)"],
    [`boot under UEFI, ${vm.accel.toUpperCase()}: QEMU start → ssh`, s(bootSeconds), "", "", `< ${bootTarget} s`, bootSeconds < bootTarget ? "PASS" : "MISS"],
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  console.log(`\nDisk image of ${base.name} ${base.version} + a user (${(first!.sizeBytes / 1024 ** 3).toFixed(2)} GiB disk), median of ${ROUNDS} rounds; baseline: docker export | tar -x; mke2fs -d of the same image`);
  for (const r of rows) console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("   "));
}, log);
