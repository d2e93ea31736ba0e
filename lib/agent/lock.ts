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

/** Takes `<root>/agent.lock` (holding our pid), taking over a lock whose process is gone; returns its release. */
export function lockRoot(root: string): () => void {
  fs.mkdirSync(root, { recursive: true });
  const file = path.join(root, "agent.lock");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: "wx", mode: 0o644 });
      return () => {
        try {
          if (fs.readFileSync(file, "utf8").trim() === String(process.pid)) fs.unlinkSync(file);
        } catch {
          // Gone already: nothing to release.
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const pid = Number(fs.readFileSync(file, "utf8").trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) throw new Error(`another agent (pid ${pid}) is running on ${root}; stop it first`);
      // A lock left by an agent that died (power cut, kill -9).
      fs.rmSync(file, { force: true });
    }
  }
  throw new Error(`could not take ${file}`);
}
