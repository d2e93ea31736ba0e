// Supervision of `npm run up`'s children: a crashed process is started again with a growing delay, and stop() ends it.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { supervise } from "./processes";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "strata-supervise-"));
const script = (name: string, body: string) => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, body);
  return file;
};
const until = async (check: () => boolean, timeoutMs = 20_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
};

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("supervise", () => {
  it("restarts a process that exits on its own, saying why, with a delay that doubles while it keeps crashing", async () => {
    const crash = script("crash.mjs", "setTimeout(() => process.exit(3), 50);\n");
    const lines: string[] = [];
    const child = supervise("worker", crash, process.env, { initialDelayMs: 100, maxDelayMs: 400, log: (m) => lines.push(m) });
    try {
      await until(() => child.restarts() >= 3);
    } finally {
      await child.stop();
    }
    expect(lines[0]).toMatch(/^worker stopped unexpectedly \(exit code 3\); restarting it in/);
    const delays = lines.map((l) => Number(/in (\d+(?:\.\d+)?) s/.exec(l)?.[1] ?? NaN));
    expect(delays.slice(0, 3)).toEqual([0.1, 0.2, 0.4]);
  });

  it("restarts a process killed with SIGKILL, and stops for good on stop()", async () => {
    const sleeper = script("sleep.mjs", "setInterval(() => {}, 1000);\n");
    const lines: string[] = [];
    const child = supervise("worker", sleeper, process.env, { initialDelayMs: 50, log: (m) => lines.push(m) });
    const first = child.current();
    await until(() => first.child.pid !== undefined);
    first.child.kill("SIGKILL");
    await until(() => child.restarts() === 1 && child.current() !== first);
    expect(lines.join("\n")).toContain("killed by SIGKILL");
    const second = child.current();
    await child.stop();
    expect(second.child.exitCode !== null || second.child.signalCode !== null).toBe(true);
    // No restart after stop().
    await new Promise((r) => setTimeout(r, 300));
    expect(child.restarts()).toBe(1);
  });
});
