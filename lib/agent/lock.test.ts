import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { lockRoot } from "./lock";

const roots: string[] = [];
const tempRoot = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "strata-agent-lock-"));
  roots.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of roots.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe("lockRoot", () => {
  it("lets one agent hold a root and frees it on release", () => {
    const root = tempRoot();
    const release = lockRoot(root);
    expect(fs.readFileSync(path.join(root, "agent.lock"), "utf8").split("\n")[0]).toBe(String(process.pid));
    release();
    expect(fs.existsSync(path.join(root, "agent.lock"))).toBe(false);
    lockRoot(root)();
  });

  it("refuses while another live process holds it, and takes over a lock whose process is gone", async () => {
    const root = tempRoot();
    const other = spawn(process.execPath, ["-e", "setTimeout(() => {}, 30000)"]);
    try {
      fs.writeFileSync(path.join(root, "agent.lock"), `${other.pid}\n`);
      expect(() => lockRoot(root)).toThrow(`another agent (pid ${other.pid}) is running on ${root}`);
    } finally {
      other.kill();
      await new Promise((resolve) => other.once("exit", resolve));
    }
    const release = lockRoot(root);
    expect(fs.readFileSync(path.join(root, "agent.lock"), "utf8").split("\n")[0]).toBe(String(process.pid));
    release();
  });

  it.runIf(fs.existsSync("/proc/sys/kernel/random/boot_id"))("takes over a lock of an earlier boot, even when its pid is alive now", () => {
    const root = tempRoot();
    const bootId = fs.readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    // pid 1 is always alive; in the boot before, it was another agent's number too.
    fs.writeFileSync(path.join(root, "agent.lock"), "1\n00000000-0000-0000-0000-000000000000\n");
    const release = lockRoot(root);
    expect(fs.readFileSync(path.join(root, "agent.lock"), "utf8")).toBe(`${process.pid}\n${bootId}\n`);
    release();
    fs.writeFileSync(path.join(root, "agent.lock"), `1\n${bootId}\n`);
    expect(() => lockRoot(root)).toThrow(`another agent (pid 1) is running on ${root}`);
  });
});
