// A QEMU virtual machine for the boot tests and the disk benchmark: UEFI (Debian's OVMF) or BIOS (SeaBIOS), user-mode
// networking with ssh forwarded to 127.0.0.1 only, the serial console in a file. KVM is used only when it really works:
// on some machines /dev/kvm exists but guests hang or abort, so the first boot probes it and falls back to TCG.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export type Firmware = "uefi" | "bios";
const OVMF_CODE = "/usr/share/OVMF/OVMF_CODE.fd";
const OVMF_VARS = "/usr/share/OVMF/OVMF_VARS.fd";
/** How long a KVM guest gets to show grub's menu before KVM is judged broken on this machine. */
const KVM_PROBE_MS = 20_000;

let kvmWorks: boolean | null = null;

export interface VmOptions {
  disk: string;
  format: "qcow2" | "raw";
  firmware: Firmware;
  /** Folder for the serial log and the UEFI variables. */
  workDir: string;
  name: string;
  memoryMb?: number;
  log?: (line: string) => void;
}

export interface Vm {
  sshPort: number;
  serialLog: string;
  accel: "kvm" | "tcg";
  /** Serial output so far. */
  serial: () => string;
  /** Resolves when `pattern` appears in the serial output after `from` (an offset into it). */
  waitForSerial: (pattern: RegExp, timeoutMs: number, from?: number) => Promise<void>;
  exited: Promise<number | null>;
  stop: () => Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

function qemuArgs(o: VmOptions, accel: "kvm" | "tcg", sshPort: number, serialLog: string, vars: string): string[] {
  const args = [
    "-name", o.name,
    "-machine", `${o.firmware === "uefi" ? "q35" : "pc"},accel=${accel}`,
    "-smp", "2",
    "-m", String(o.memoryMb ?? 1024),
    "-display", "none",
    "-monitor", "none",
    "-serial", `file:${serialLog}`,
    "-drive", `file=${o.disk},format=${o.format},if=virtio,cache=unsafe`,
    // User-mode networking: the guest reaches the host as 10.0.2.2; only ssh comes in, on 127.0.0.1.
    "-netdev", `user,id=net0,hostfwd=tcp:127.0.0.1:${sshPort}-:22`,
    "-device", "virtio-net-pci,netdev=net0",
    "-device", "virtio-rng-pci",
  ];
  if (accel === "kvm") args.push("-cpu", "host");
  if (o.firmware === "uefi") args.push("-drive", `if=pflash,format=raw,readonly=on,file=${OVMF_CODE}`, "-drive", `if=pflash,format=raw,file=${vars}`);
  return args;
}

function launch(o: VmOptions, accel: "kvm" | "tcg", sshPort: number): { child: ChildProcess; serialLog: string; exited: Promise<number | null> } {
  const serialLog = path.join(o.workDir, `${o.name}.serial.log`);
  fs.appendFileSync(serialLog, `\n--- ${new Date().toISOString()} ${o.firmware} ${accel} ---\n`);
  const vars = path.join(o.workDir, `${o.name}.vars.fd`);
  if (o.firmware === "uefi" && !fs.existsSync(vars)) fs.copyFileSync(OVMF_VARS, vars);
  const child = spawn("qemu-system-x86_64", qemuArgs(o, accel, sshPort, serialLog, vars), { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => {
    if (stderr.trim()) o.log?.(`qemu (${accel}): ${stderr.trim().split("\n").slice(-3).join(" | ")}`);
    resolve(code);
  }));
  return { child, serialLog, exited };
}

/** Starts the machine; the first start on this machine probes KVM and falls back to TCG when it does not work. */
export async function startVm(o: VmOptions): Promise<Vm> {
  fs.mkdirSync(o.workDir, { recursive: true });
  const sshPort = await freePort();
  const canTryKvm = kvmWorks !== false && fs.existsSync("/dev/kvm") && process.env.STRATA_VM_ACCEL !== "tcg";
  let accel: "kvm" | "tcg" = canTryKvm ? "kvm" : "tcg";
  let run = launch(o, accel, sshPort);
  const offset = () => fs.statSync(run.serialLog).size;
  if (accel === "kvm" && kvmWorks === null) {
    const start = offset();
    const shown = await Promise.race([
      waitFor(() => readFrom(run.serialLog, start).includes("GNU GRUB") || readFrom(run.serialLog, start).includes("Strata"), KVM_PROBE_MS).then(() => true, () => false),
      run.exited.then(() => false),
    ]);
    kvmWorks = shown;
    if (!shown) {
      o.log?.("KVM does not run guests here (no boot menu within 20 s, or qemu aborted); using TCG");
      run.child.kill("SIGKILL");
      await run.exited;
      accel = "tcg";
      run = launch(o, accel, sshPort);
    }
  }
  o.log?.(`${o.name}: started with ${o.firmware.toUpperCase()} firmware under ${accel.toUpperCase()}, ssh on 127.0.0.1:${sshPort}`);
  const current = run;
  return {
    sshPort,
    serialLog: current.serialLog,
    accel,
    serial: () => fs.readFileSync(current.serialLog, "utf8"),
    waitForSerial: (pattern, timeoutMs, from = 0) =>
      waitFor(() => pattern.test(readFrom(current.serialLog, from)), timeoutMs).catch(() => {
        throw new Error(`${o.name}: "${pattern.source}" did not appear on the serial console within ${timeoutMs / 1000} s; last lines:\n${tail(current.serialLog)}`);
      }),
    exited: current.exited,
    stop: async () => {
      if (current.child.exitCode === null) {
        current.child.kill("SIGTERM");
        await Promise.race([current.exited, sleep(5000)]);
        if (current.child.exitCode === null) current.child.kill("SIGKILL");
      }
      await current.exited;
    },
  };
}

function readFrom(file: string, offset: number): string {
  try {
    const buf = fs.readFileSync(file);
    return buf.subarray(offset).toString("utf8");
  } catch {
    return "";
  }
}

export function tail(file: string, lines = 25): string {
  // Terminal escapes from grub's menu make the log unreadable; strip them.
  return readFrom(file, 0).replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").split(/\r?\n/).filter((l) => l.trim()).slice(-lines).join("\n");
}

async function waitFor(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return;
    await sleep(500);
  }
  throw new Error("timed out");
}

export interface SshTarget {
  port: number;
  user: string;
  keyFile: string;
}

/** Runs `command` on the machine with Debian's ssh client; host keys are new for every machine, so they are not checked. */
export function ssh(target: SshTarget, command: string, opts: { timeoutMs?: number } = {}): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(
    "ssh",
    [
      "-i", target.keyFile,
      "-p", String(target.port),
      "-o", "StrictHostKeyChecking=no",
      "-o", "UserKnownHostsFile=/dev/null",
      "-o", "BatchMode=yes",
      "-o", "ConnectTimeout=5",
      "-o", "LogLevel=ERROR",
      `${target.user}@127.0.0.1`,
      command,
    ],
    { encoding: "utf8", timeout: opts.timeoutMs ?? 60_000 },
  );
  return { code: result.status ?? -1, stdout: result.stdout ?? "", stderr: result.stderr ?? "" };
}

/** Waits until ssh runs a command; returns the seconds it took. */
export async function waitForSsh(target: SshTarget, timeoutMs: number, vm?: Vm): Promise<number> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    const r = ssh(target, "true", { timeoutMs: 10_000 });
    if (r.code === 0) return (Date.now() - started) / 1000;
    last = r.stderr.trim();
    await sleep(1000);
  }
  throw new Error(`ssh to 127.0.0.1:${target.port} did not answer within ${timeoutMs / 1000} s (${last})${vm ? `; serial console:\n${tail(vm.serialLog)}` : ""}`);
}

export function makeSshKey(dir: string): { keyFile: string; publicKey: string } {
  fs.mkdirSync(dir, { recursive: true });
  const keyFile = path.join(dir, "id_ed25519");
  if (!fs.existsSync(keyFile)) {
    const r = spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "strata-boot-test", "-f", keyFile], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`ssh-keygen failed: ${r.stderr}`);
  }
  return { keyFile, publicKey: fs.readFileSync(`${keyFile}.pub`, "utf8").trim() };
}
