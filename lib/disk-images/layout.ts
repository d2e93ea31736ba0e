// The A/B disk layout: partition offsets and sizes from the root filesystem's size and the size asked for.
// Pure arithmetic, so the request is refused (422) before anything is queued when the root filesystem cannot fit.
//
//   LBA 0      protective MBR (grub's boot.img for BIOS machines) and the GPT
//   1 MiB      p1 strata-esp   FAT, 64 MiB: grub for UEFI, grub.cfg, grubenv, slot-a.cfg / slot-b.cfg
//              p2 bios         1 MiB: grub's core.img for BIOS machines
//              p3 strata-a     ext4, the build's root filesystem, mounted read-only
//              p4 strata-b     empty until the device agent installs an upgrade there
//              p5 strata-state ext4, the rest: the writable overlays of /etc, /var, /home and /root
//   end        the backup GPT
import { ValidationError } from "../errors";

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;
const SECTOR = 512;

export const ESP_BYTES = 64 * MiB;
export const BIOS_BYTES = 1 * MiB;
/** Room for the GPT at the start (1 MiB alignment) and the backup GPT at the end. */
const HEAD_BYTES = 1 * MiB;
const TAIL_BYTES = 1 * MiB;
export const MIN_STATE_BYTES = 256 * MiB;
export const DEFAULT_STATE_BYTES = 1 * GiB;
/** The default slot leaves this much room above the root filesystem for later, larger images. */
const SLOT_GROWTH = 1.5;
const SLOT_ROUNDING = 256 * MiB;

export const DISK_FORMATS = ["raw", "qcow2"] as const;
export type DiskFormat = (typeof DISK_FORMATS)[number];

/** GPT partition type GUIDs. The slots are plain "Linux filesystem" so that no generator mounts them by type. */
export const PARTITION_TYPES = {
  esp: "C12A7328-F81F-11D2-BA4B-00A0C93EC93B",
  bios: "21686148-6449-6E6F-744E-656564454649",
  linux: "0FC63DAF-8483-4772-8E79-3D69D8477DE4",
} as const;

export interface Partition {
  number: number;
  name: "strata-esp" | "bios" | "strata-a" | "strata-b" | "strata-state";
  type: string;
  offset: number;
  size: number;
}

export interface DiskLayout {
  size: number;
  partitions: Partition[];
}

/** What the root filesystem holds, as the build's artefacts tell it. */
export interface RootfsSize {
  bytes: number;
  files: number;
}

/**
 * The smallest ext4 file system that holds the root filesystem: each file may waste up to a 4 KiB block and takes
 * an inode, plus the journal and metadata. Rounded up to a MiB.
 */
export function minimumSlotBytes(rootfs: RootfsSize): number {
  const raw = (rootfs.bytes + rootfs.files * 4096) * 1.08 + 96 * MiB;
  return Math.ceil(raw / MiB) * MiB;
}

/** The default slot: the minimum with room to grow, in steps of 256 MiB. */
export function defaultSlotBytes(rootfs: RootfsSize): number {
  return Math.ceil((minimumSlotBytes(rootfs) * SLOT_GROWTH) / SLOT_ROUNDING) * SLOT_ROUNDING;
}

const fixedBytes = HEAD_BYTES + ESP_BYTES + BIOS_BYTES + TAIL_BYTES;

export function minimumDiskBytes(rootfs: RootfsSize): number {
  return fixedBytes + 2 * minimumSlotBytes(rootfs) + MIN_STATE_BYTES;
}

export function defaultDiskBytes(rootfs: RootfsSize): number {
  return fixedBytes + 2 * defaultSlotBytes(rootfs) + DEFAULT_STATE_BYTES;
}

/**
 * The layout of a disk of `size` bytes (default: room to grow and 1 GiB of state). The slots get their default size
 * when the state partition keeps at least 256 MiB, else they shrink towards the minimum; a disk too small even then,
 * or larger than `maxBytes`, is a ValidationError naming the sizes that would work.
 */
export function computeLayout(rootfs: RootfsSize, opts: { size?: number; maxBytes: number }): DiskLayout {
  const min = minimumDiskBytes(rootfs);
  const size = opts.size === undefined ? defaultDiskBytes(rootfs) : Math.ceil(opts.size / MiB) * MiB;
  if (size > opts.maxBytes) {
    throw new ValidationError(`a disk image is at most ${formatBytes(opts.maxBytes)} here; ${formatBytes(size)} was asked for`, {
      issues: [{ path: "size", message: `at most ${formatBytes(opts.maxBytes)}` }],
    });
  }
  if (size < min) {
    throw new ValidationError(
      `${formatBytes(size)} is too small for this build: its root filesystem needs a ${formatBytes(minimumSlotBytes(rootfs))} slot, twice (A and B), ` +
        `plus ${formatBytes(MIN_STATE_BYTES)} of state and ${formatBytes(fixedBytes)} for the boot partitions; the smallest disk is ${formatBytes(min)}`,
      { issues: [{ path: "size", message: `at least ${formatBytes(min)}` }], minimum: min },
    );
  }
  const room = size - fixedBytes - MIN_STATE_BYTES;
  const slot = Math.min(defaultSlotBytes(rootfs), Math.floor(room / 2 / MiB) * MiB);
  const parts: Array<Omit<Partition, "offset">> = [
    { number: 1, name: "strata-esp", type: PARTITION_TYPES.esp, size: ESP_BYTES },
    { number: 2, name: "bios", type: PARTITION_TYPES.bios, size: BIOS_BYTES },
    { number: 3, name: "strata-a", type: PARTITION_TYPES.linux, size: slot },
    { number: 4, name: "strata-b", type: PARTITION_TYPES.linux, size: slot },
    { number: 5, name: "strata-state", type: PARTITION_TYPES.linux, size: 0 },
  ];
  let offset = HEAD_BYTES;
  const partitions = parts.map((p) => {
    const placed = { ...p, offset };
    offset += p.size;
    return placed;
  });
  partitions[4].size = size - TAIL_BYTES - partitions[4].offset;
  return { size, partitions };
}

export function partition(layout: DiskLayout, name: Partition["name"]): Partition {
  const found = layout.partitions.find((p) => p.name === name);
  if (!found) throw new Error(`the layout has no ${name} partition`);
  return found;
}

/** The partition table as an sfdisk script (sectors of 512 bytes). */
export function sfdiskScript(layout: DiskLayout): string {
  const lines = ["label: gpt", `first-lba: ${HEAD_BYTES / SECTOR}`, `last-lba: ${(layout.size - TAIL_BYTES) / SECTOR - 1}`];
  for (const p of layout.partitions) lines.push(`start=${p.offset / SECTOR}, size=${p.size / SECTOR}, type=${p.type}, name="${p.name}"`);
  return `${lines.join("\n")}\n`;
}

/** The variables make-disk.sh reads. */
export function scriptEnvironment(layout: DiskLayout, formats: readonly DiskFormat[]): Record<string, string> {
  const p = (name: Partition["name"]) => partition(layout, name);
  return {
    DISK_BYTES: String(layout.size),
    ESP_OFFSET: String(p("strata-esp").offset),
    ESP_BYTES: String(p("strata-esp").size),
    BIOS_OFFSET: String(p("bios").offset),
    BIOS_BYTES: String(p("bios").size),
    A_OFFSET: String(p("strata-a").offset),
    A_BYTES: String(p("strata-a").size),
    STATE_OFFSET: String(p("strata-state").offset),
    STATE_BYTES: String(p("strata-state").size),
    FORMATS: formats.join(" "),
  };
}

const UNITS: Record<string, number> = { "": 1, b: 1, k: 1024, kib: 1024, m: MiB, mib: MiB, g: GiB, gib: GiB, t: 1024 * GiB, tib: 1024 * GiB };

/** "4G", "4 GiB", "3584M" or a number of bytes; binary units. Null when it is none of those. */
export function parseSize(input: string | number): number | null {
  if (typeof input === "number") return Number.isSafeInteger(input) && input > 0 ? input : null;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(input);
  if (!match) return null;
  const unit = UNITS[match[2].toLowerCase()];
  if (unit === undefined) return null;
  const bytes = Math.round(Number(match[1]) * unit);
  return bytes > 0 && Number.isSafeInteger(bytes) ? bytes : null;
}

export function formatBytes(bytes: number): string {
  const gib = bytes / GiB;
  if (gib >= 1) return `${Number.isInteger(gib) ? gib : Number.isInteger(gib * 10) ? gib.toFixed(1) : gib.toFixed(2)} GiB`;
  return `${Math.ceil(bytes / MiB)} MiB`;
}
