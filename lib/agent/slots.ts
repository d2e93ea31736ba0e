// The A/B layout under --root: slots/a and slots/b, the `active` marker naming one, and a record of what each slot holds
// (in disk mode only the records: the slots are partitions, and grub's environment names the active one; see disk.ts).
//
// An upgrade only ever writes the passive slot, and the one step that changes what boots is the
// atomic rename of the marker, so a failed or interrupted upgrade leaves the active slot as it was.
import fs from "node:fs/promises";
import path from "node:path";
import { removeTree, writeFileAtomic } from "./files";

export type SlotName = "a" | "b";
export const SLOT_NAMES: readonly SlotName[] = ["a", "b"] as const;

/** What a slot holds, written beside it (slots/<x>.json) once its image is completely unpacked. */
export interface SlotRecord {
  /** The digest the image reference resolved to (an index's digest for a multi-platform image). */
  digest: string;
  image: string;
  version: string | null;
  releaseId: string | null;
  installedAt: string;
}

export interface SlotLayout {
  /** null before the first upgrade: nothing has been installed by the agent yet. */
  active: SlotName | null;
  passive: SlotName;
  records: Record<SlotName, SlotRecord | null>;
}

export const slotDir = (root: string, slot: SlotName) => path.join(root, "slots", slot);
const recordFile = (root: string, slot: SlotName) => path.join(root, "slots", `${slot}.json`);
const activeFile = (root: string) => path.join(root, "active");

export async function readLayout(root: string): Promise<SlotLayout> {
  const active = await readActive(root);
  const records = { a: await readRecord(root, "a"), b: await readRecord(root, "b") };
  return { active, passive: active === "a" ? "b" : "a", records };
}

async function readActive(root: string): Promise<SlotName | null> {
  let text: string;
  try {
    text = await fs.readFile(activeFile(root), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
  const name = text.trim();
  if (name !== "a" && name !== "b") throw new Error(`${activeFile(root)} holds ${JSON.stringify(name)}, not "a" or "b"; fix it by hand to name the slot that boots`);
  return name;
}

async function readRecord(root: string, slot: SlotName): Promise<SlotRecord | null> {
  try {
    return JSON.parse(await fs.readFile(recordFile(root, slot), "utf8")) as SlotRecord;
  } catch (err) {
    // A missing or unreadable record means the slot's content is unknown, which is what an empty slot means too.
    if ((err as NodeJS.ErrnoException).code === "ENOENT" || err instanceof SyntaxError) return null;
    throw err;
  }
}

/**
 * Empties the passive slot for a new image. The record goes first: if power fails while the slot
 * is half written, the agent must not believe it holds the image the record names.
 */
export async function clearSlot(root: string, slot: SlotName): Promise<string> {
  await forgetSlot(root, slot);
  const dir = slotDir(root, slot);
  await removeTree(dir);
  await fs.mkdir(dir, { recursive: true, mode: 0o755 });
  return dir;
}

export async function recordSlot(root: string, slot: SlotName, record: SlotRecord): Promise<void> {
  // In disk mode nothing else makes slots/: the slots are partitions.
  await fs.mkdir(path.dirname(recordFile(root, slot)), { recursive: true });
  await writeFileAtomic(recordFile(root, slot), `${JSON.stringify(record, null, 2)}\n`);
}

/** Forgets what a slot holds, before its content is replaced (disk mode: before its partition is formatted). */
export async function forgetSlot(root: string, slot: SlotName): Promise<void> {
  await fs.rm(recordFile(root, slot), { force: true });
}

export const otherSlot = (slot: SlotName): SlotName => (slot === "a" ? "b" : "a");

/** Makes `slot` the active one: the marker is replaced by rename, so it always names one whole slot. */
export async function switchActive(root: string, slot: SlotName): Promise<void> {
  await writeFileAtomic(activeFile(root), `${slot}\n`);
}
