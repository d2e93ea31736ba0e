// A process whose starter (tsx's wrapper, as `npm run up` runs it) is SIGKILLed notices that it was re-parented and stops.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import { afterAll, expect, it } from "vitest";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "strata-parent-watch-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

it("stops a child whose wrapper was killed with SIGKILL", async () => {
  const pidFile = path.join(dir, "pid");
  const goneFile = path.join(dir, "gone");
  const script = path.join(dir, "child.ts");
  fs.writeFileSync(
    script,
    `import fs from "node:fs";
import { onParentGone } from ${JSON.stringify(path.resolve("lib/parent-watch.ts"))};
fs.writeFileSync(${JSON.stringify(pidFile)}, String(process.pid));
onParentGone(() => { fs.writeFileSync(${JSON.stringify(goneFile)}, "gone"); process.exit(0); }, 100);
setInterval(() => {}, 1000);
`,
  );
  const wrapper = spawn(path.resolve("node_modules/.bin/tsx"), [script], { stdio: "ignore" });
  const until = async (check: () => boolean, what: string) => {
    const deadline = Date.now() + 20_000;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await until(() => fs.existsSync(pidFile) && fs.readFileSync(pidFile, "utf8") !== "", "the child runs");
  const child = Number(fs.readFileSync(pidFile, "utf8"));
  expect(child).not.toBe(wrapper.pid);
  wrapper.kill("SIGKILL");
  await until(() => !alive(child), "the child stops");
  expect(fs.readFileSync(goneFile, "utf8")).toBe("gone");
});
