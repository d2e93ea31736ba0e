// Disk mode: the A/B slots are the partitions strata-a and strata-b of a Strata disk (lib/disk-images/make-disk.sh),
// and grub boots the one its environment names (lib/disk-images/grub.cfg), on trial after a switch.
//
// Everything that touches the machine (the kernel command line, partitions, mkfs, mount, grub-editenv, reboot) goes
// through DiskSystem, so the agent's cycle runs in tests against a fake (fakes.ts) without root.
import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { writeFileAtomic } from "./files";
import type { PulledImage } from "./pull";
import type { SlotName } from "./slots";

const execFileAsync = promisify(execFile);

export const PARTITION_DIR = "/dev/disk/by-partlabel";
/** Where the EFI system partition is mounted; /usr/lib/strata/esp (base manifest 3, system/boot) uses the same. */
export const ESP_MOUNT = "/run/strata/esp";
const ESP_MOUNT_OPTIONS = "nosuid,nodev,noexec,umask=0077";

export interface DiskSystem {
  /** The kernel command line (/proc/cmdline). */
  readCmdline(): Promise<string>;
  /** The device of a GPT partition name (/dev/disk/by-partlabel/<name>), or null when there is none. */
  partition(name: string): Promise<string | null>;
  /** Mounts the EFI system partition at /run/strata/esp unless it is mounted; returns the directory. */
  mountEsp(): Promise<string>;
  /** Where a slot's partition is mounted while the agent writes it. */
  slotMountPoint(slot: SlotName): string;
  /** mkfs.ext4 with a label: everything on the partition is gone. */
  makeFilesystem(device: string, label: string): Promise<void>;
  /** Mounts an ext4 partition read-write at `dir` (made when missing). */
  mount(device: string, dir: string): Promise<void>;
  /** Unmounts `dir` when something is mounted there; nothing otherwise. */
  unmount(dir: string): Promise<void>;
  sync(): Promise<void>;
  /** grub-editenv <file> list. */
  readGrubenv(file: string): Promise<Record<string, string>>;
  /** grub-editenv <file> set k=v…, the only way grubenv is written: grub needs the file's exact block layout. */
  setGrubenv(file: string, values: Record<string, string>): Promise<void>;
  unsetGrubenv(file: string, names: string[]): Promise<void>;
  /** Asks systemd for a clean reboot (returns once it is queued). */
  reboot(): Promise<void>;
  /** /usr/lib/os-release of the running system, or null when there is none. */
  readOsRelease(): Promise<string | null>;
}

/** What the machine booted: the slot on the kernel command line and grub's environment. */
export interface BootState {
  running: SlotName;
  esp: string;
  grubenvFile: string;
  grubenv: Record<string, string>;
}

/** The slot grub booted (strata.slot= on the kernel command line), or null when it did not boot a Strata slot. */
export function bootedSlot(cmdline: string): SlotName | null {
  for (const arg of cmdline.trim().split(/\s+/)) {
    if (arg === "strata.slot=a" || arg === "strata.slot=b") return arg.slice("strata.slot=".length) as SlotName;
  }
  return null;
}

/** Disk mode applies when the machine booted a Strata slot from a disk that has the slot partitions. */
export async function detectDiskMode(system: DiskSystem): Promise<boolean> {
  try {
    return bootedSlot(await system.readCmdline()) !== null && (await system.partition("strata-a")) !== null;
  } catch {
    return false; // no /proc (not Linux): directory slots
  }
}

export async function readBootState(system: DiskSystem): Promise<BootState> {
  const running = bootedSlot(await system.readCmdline());
  if (!running) {
    throw new Error("disk mode needs strata.slot=a or b on the kernel command line, which grub sets when it boots a Strata disk; use --dir-slots for slots in directories");
  }
  const esp = await system.mountEsp();
  const grubenvFile = path.join(esp, "grub", "grubenv");
  return { running, esp, grubenvFile, grubenv: await system.readGrubenv(grubenvFile) };
}

/** A grubenv variable counts as set when it has a value: grub writes `strata_tries=` (empty) once it fell back. */
export const isSet = (grubenv: Record<string, string>, name: string) => (grubenv[name] ?? "") !== "";

/** What grub needs to boot a slot (paths inside the slot's file system) and the image's own kernel arguments. */
export interface SlotBootConfig {
  linux: string;
  initrd: string;
  cmdline: string;
}

// As make-disk.sh does it, as grub-mkconfig reads them: /etc/default/grub, then /etc/default/grub.d/*.cfg, sourced
// (a layer appends with GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX …"); quotes and backslashes dropped.
const KERNEL_ARGUMENTS_SCRIPT = String.raw`ROOTFS=$1
GRUB_CMDLINE_LINUX=; GRUB_CMDLINE_LINUX_DEFAULT=
[ -f "$ROOTFS/etc/default/grub" ] && . "$ROOTFS/etc/default/grub"
for f in "$ROOTFS"/etc/default/grub.d/*.cfg; do [ -f "$f" ] && . "$f"; done
echo "$GRUB_CMDLINE_LINUX $GRUB_CMDLINE_LINUX_DEFAULT" | tr -d "'\"\\\\" | tr -s ' '
`;

/**
 * The newest /boot/vmlinuz-<version> with its initrd, and the kernel arguments, of an unpacked image. The image's
 * shell files are sourced, as grub-mkconfig would on any Debian machine: the image is the one the signed channel
 * document named, and it runs as root from the next boot anyway.
 */
export async function slotBootConfig(root: string): Promise<SlotBootConfig> {
  const names = await fs.readdir(path.join(root, "boot")).catch(() => [] as string[]);
  const kernel = names
    .filter((n) => n.startsWith("vmlinuz-"))
    .sort((a, b) => a.localeCompare(b, "en", { numeric: true }))
    .at(-1);
  if (!kernel) throw new Error("this image has no kernel (/boot/vmlinuz-*): it needs the base manifest's system/kernel package");
  const version = kernel.slice("vmlinuz-".length);
  // make-disk.sh takes the last of these that exists.
  const initrd = [`initrd.img-${version}`, `initramfs-${version}.img`].filter((n) => names.includes(n)).at(-1);
  if (!initrd) throw new Error(`this image has kernel ${version} but no initrd for it (/boot/initrd.img-${version}): it needs the base manifest's system/dracut package`);
  for (const name of [kernel, initrd]) {
    if (!/^[A-Za-z0-9._+-]+$/.test(name)) throw new Error(`the kernel file name /boot/${name} has characters grub's configuration cannot take`);
  }
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync("sh", ["-c", KERNEL_ARGUMENTS_SCRIPT, "sh", root]));
  } catch (err) {
    throw new Error(`reading the image's kernel arguments (/etc/default/grub, /etc/default/grub.d/*.cfg) failed: ${((err as { stderr?: string }).stderr || (err as Error).message).trim()}`);
  }
  // One line: grub's single quotes would take a newline, but a kernel command line has none.
  return { linux: `/boot/${kernel}`, initrd: `/boot/${initrd}`, cmdline: stdout.replace(/\s+/g, " ").trim() };
}

/** What a slot holds, as slot-<x>.cfg records it (make-disk.sh for slot A, the agent for what it installs). */
export interface SlotImage {
  image: string;
  digest: string;
  version: string | null;
}

/** Inside grub's single quotes: no quote (grub has no escape there) and nothing that ends the line. */
const grubQuoted = (value: string) => `'${value.replace(/['\r\n\\]/g, "")}'`;

/**
 * slot-<x>.cfg on the ESP, which grub.cfg sources to boot that slot. It also records the image, as make-disk.sh
 * does for slot A: grub ignores those variables; the agent reads them for a slot it has no record of.
 */
export function slotConfigText(slot: SlotName, config: SlotBootConfig, image: SlotImage): string {
  return [
    `# Slot ${slot.toUpperCase()}: written by the Strata device agent when it installed this image.`,
    `set strata_linux=${config.linux}`,
    `set strata_initrd=${config.initrd}`,
    `set strata_cmdline=${grubQuoted(config.cmdline)}`,
    `set strata_image=${grubQuoted(image.image)}`,
    `set strata_digest=${grubQuoted(image.digest)}`,
    `set strata_version=${grubQuoted((image.version ?? "").replace(/[^A-Za-z0-9._+-]/g, ""))}`,
    "",
  ].join("\n");
}

/** The image slot-<x>.cfg records, or null when it records none (a disk made before it did, or no such file). */
export async function readSlotImage(esp: string, slot: SlotName): Promise<SlotImage | null> {
  const text = await fs.readFile(path.join(esp, "grub", `slot-${slot}.cfg`), "utf8").catch(() => null);
  if (!text) return null;
  const values = new Map<string, string>();
  for (const m of text.matchAll(/^set strata_(image|digest|version)='([^']*)'\s*$/gm)) values.set(m[1], m[2]);
  const digest = values.get("digest") ?? "";
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) return null;
  return { image: values.get("image") ?? "", digest, version: values.get("version") || null };
}

/**
 * Writes an image into a slot's partition: a fresh ext4 file system (labelled strata-<x>, as make-disk.sh labels
 * slot A), the image unpacked into it by `unpack`, then slot-<x>.cfg on the ESP. grubenv is not touched: until
 * switchSlot, grub keeps booting the running slot, so a failure here changes nothing the machine boots.
 */
export async function installIntoPartition(opts: {
  system: DiskSystem;
  slot: SlotName;
  esp: string;
  /** The image reference and release version, recorded in slot-<x>.cfg. */
  image: string;
  version: string | null;
  unpack: (dir: string) => Promise<PulledImage>;
}): Promise<PulledImage> {
  const { system, slot } = opts;
  const label = `strata-${slot}`;
  const device = await system.partition(label);
  if (!device) throw new Error(`this disk has no partition ${label} (${PARTITION_DIR}/${label})`);
  const dir = system.slotMountPoint(slot);
  // A previous attempt that died half-way may have left it mounted; mkfs refuses a mounted partition.
  await system.unmount(dir);
  await system.makeFilesystem(device, label);
  await system.mount(device, dir);
  let done = false;
  try {
    const result = await opts.unpack(dir);
    const config = await slotBootConfig(dir);
    // FAT has no Unix modes: the file keeps the mount's.
    await writeFileAtomic(path.join(opts.esp, "grub", `slot-${slot}.cfg`), slotConfigText(slot, config, { image: opts.image, digest: result.digest, version: opts.version }), null);
    await system.sync();
    done = true;
    return result;
  } finally {
    try {
      await system.unmount(dir);
    } catch (err) {
      // After a failure, that failure is what matters; the next attempt unmounts first anyway.
      if (done) throw err;
    }
  }
}

/**
 * Makes grub boot `to` next, on trial: `tries` boots to reach multi-user.target (strata-boot-good.service then
 * unsets strata_tries) before grub goes back to `from`. The set is the one write that switches; sync after it.
 */
export async function switchSlot(system: DiskSystem, grubenvFile: string, switchTo: { to: SlotName; from: SlotName; tries: number }): Promise<void> {
  // A strata_failed left from an earlier fallback must not be read as this switch's outcome.
  await system.unsetGrubenv(grubenvFile, ["strata_failed"]);
  await system.setGrubenv(grubenvFile, { strata_active: switchTo.to, strata_previous: switchTo.from, strata_tries: String(switchTo.tries) });
}

/** "r2.1 (build 0b8…)" from /usr/lib/os-release as the builder stamps it, for a slot the agent has no record of. */
export function osReleaseLabel(text: string | null): string | null {
  if (!text) return null;
  const fields = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) fields.set(m[1], m[2].replace(/^"(.*)"$/, "$1").replace(/\\(.)/g, "$1"));
  }
  const version = fields.get("IMAGE_VERSION") || fields.get("VERSION_ID");
  const build = fields.get("STRATA_BUILD_ID");
  if (!version && !build) return null;
  return `${version ?? "an unknown version"}${build ? ` (build ${build})` : ""}`;
}

export function parseGrubenvList(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) values[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return values;
}

/** The machine itself: what runs on a device, as root. */
export function realDiskSystem(): DiskSystem {
  const run = async (file: string, args: string[]): Promise<string> => {
    try {
      return (await execFileAsync(file, args, { maxBuffer: 4 * 1024 * 1024 })).stdout;
    } catch (err) {
      const detail = ((err as { stderr?: string }).stderr ?? "").trim() || (err as Error).message;
      throw new Error(`${file} ${args.join(" ")} failed: ${detail}`);
    }
  };
  const partition = async (name: string): Promise<string | null> => {
    const device = path.join(PARTITION_DIR, name);
    const stat = await fs.stat(device).catch(() => null);
    return stat?.isBlockDevice() ? device : null;
  };
  return {
    readCmdline: () => fs.readFile("/proc/cmdline", "utf8"),
    partition,
    async mountEsp() {
      if (await isMountPoint(ESP_MOUNT)) return ESP_MOUNT;
      const device = await partition("strata-esp");
      if (!device) throw new Error(`this disk has no EFI system partition strata-esp (${PARTITION_DIR}/strata-esp)`);
      await fs.mkdir(ESP_MOUNT, { recursive: true });
      try {
        await run("mount", ["-t", "vfat", "-o", ESP_MOUNT_OPTIONS, device, ESP_MOUNT]);
      } catch (err) {
        // strata-boot-good or the watchdog (/usr/lib/strata/esp) may have mounted it meanwhile.
        if (!(await isMountPoint(ESP_MOUNT))) throw err;
      }
      return ESP_MOUNT;
    },
    slotMountPoint: (slot) => `/run/strata/slot-${slot}`,
    makeFilesystem: async (device, label) => void (await run("mkfs.ext4", ["-q", "-F", "-L", label, device])),
    async mount(device, dir) {
      await fs.mkdir(dir, { recursive: true });
      await run("mount", ["-t", "ext4", device, dir]);
    },
    async unmount(dir) {
      if (await isMountPoint(dir)) await run("umount", [dir]);
    },
    sync: async () => void (await run("sync", [])),
    readGrubenv: async (file) => parseGrubenvList(await run("grub-editenv", [file, "list"])),
    setGrubenv: async (file, values) => void (await run("grub-editenv", [file, "set", ...Object.entries(values).map(([k, v]) => `${k}=${v}`)])),
    unsetGrubenv: async (file, names) => void (await run("grub-editenv", [file, "unset", ...names])),
    reboot: async () => void (await run("systemctl", ["reboot"])),
    readOsRelease: () => fs.readFile("/usr/lib/os-release", "utf8").catch(() => null),
  };
}

/** True when something is mounted at `dir` (/proc/self/mountinfo's fifth field, octal escapes undone). */
async function isMountPoint(dir: string): Promise<boolean> {
  const target = path.resolve(dir);
  const info = await fs.readFile("/proc/self/mountinfo", "utf8");
  return info.split("\n").some((line) => {
    const field = line.split(" ")[4];
    return field !== undefined && field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))) === target;
  });
}
