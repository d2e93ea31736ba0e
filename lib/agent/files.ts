// File operations the agent needs to survive a power cut mid-write: atomic replace, and removing trees it wrote.
import fs from "node:fs/promises";
import path from "node:path";

/**
 * Replaces `file` with `content` so that a reader (or a reboot) sees the old file or the new one,
 * never a half-written one: write a temporary file beside it, flush it, rename it over, flush the
 * directory. Devices lose power; the state file and the active marker must not end up empty.
 * `mode` null leaves the mode alone, for file systems without Unix modes (FAT refuses most chmods).
 */
export async function writeFileAtomic(file: string, content: string | Buffer, mode: number | null = 0o644): Promise<void> {
  const temporary = `${file}.tmp`;
  await fs.rm(temporary, { force: true });
  const handle = await fs.open(temporary, "wx", mode ?? 0o644);
  try {
    await handle.writeFile(content);
    // The umask may have narrowed the mode given to open; a state file must not be wider or narrower than asked.
    if (mode !== null) await handle.chmod(mode);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(temporary, file);
  await syncDirectory(path.dirname(file));
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await fs.open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Removes a tree even when an image made some of its directories read-only (0555 is common, e.g.
 * /proc and /sys mount points): without root, their entries cannot be unlinked until the owner
 * gets write permission back. Symbolic links are removed, never followed.
 */
export async function removeTree(target: string): Promise<void> {
  try {
    await fs.rm(target, { recursive: true, force: true });
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EACCES" && (err as NodeJS.ErrnoException).code !== "EPERM") throw err;
  }
  await makeWritable(target);
  await fs.rm(target, { recursive: true, force: true });
}

async function makeWritable(dir: string): Promise<void> {
  const stat = await fs.lstat(dir).catch(() => null);
  if (!stat?.isDirectory()) return;
  await fs.chmod(dir, (stat.mode & 0o7777) | 0o700);
  for (const name of await fs.readdir(dir)) await makeWritable(path.join(dir, name));
}
