// One agent per root: two agents writing the same passive slot (a cron --once beside the service) would corrupt it.
import fs from "node:fs";
import path from "node:path";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** This boot's id (Linux), or null: a lock written in another boot is stale whatever its pid is now. */
function bootId(): string | null {
  try {
    return fs.readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim() || null;
  } catch {
    return null;
  }
}

/**
 * Takes `<root>/agent.lock` (holding our pid and the boot id), taking over a lock whose process is gone;
 * returns its release. The boot id matters on a device: the root survives reboots (and A/B upgrades), and
 * after one the old pid may well belong to another process.
 */
export function lockRoot(root: string): () => void {
  fs.mkdirSync(root, { recursive: true });
  const file = path.join(root, "agent.lock");
  const boot = bootId();
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, `${process.pid}\n${boot ? `${boot}\n` : ""}`, { flag: "wx", mode: 0o644 });
      return () => {
        try {
          if (fs.readFileSync(file, "utf8").split("\n")[0].trim() === String(process.pid)) fs.unlinkSync(file);
        } catch {
          // Gone already: nothing to release.
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const [pidLine = "", bootLine = ""] = fs.readFileSync(file, "utf8").split("\n");
      const pid = Number(pidLine.trim());
      const sameBoot = !boot || !bootLine.trim() || bootLine.trim() === boot;
      if (sameBoot && Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) throw new Error(`another agent (pid ${pid}) is running on ${root}; stop it first`);
      // A lock left by an agent that died (power cut, kill -9), or by one of an earlier boot.
      fs.rmSync(file, { force: true });
    }
  }
  throw new Error(`could not take ${file}`);
}
