import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { agentBundleSource, bundleAgent } from "./bundle";
import { AGENT_VERSION } from "./version";

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "strata-bundle-"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("bundleAgent", () => {
  it("writes one file that runs with plain node, away from the repository's node_modules", async () => {
    const file = await bundleAgent(path.join(dir, "strata-agent.mjs"));
    const { stdout } = await promisify(execFile)(process.execPath, [file, "--version"], { cwd: dir });
    expect(stdout).toBe(`strata-agent ${AGENT_VERSION}\n`);
    const text = fs.readFileSync(file, "utf8");
    expect(text.startsWith("#!/usr/bin/env node\n")).toBe(true);
    expect(text).not.toMatch(/node_modules\/(drizzle-orm|pg|next|react|zod)\//);
  });

  it("leaves the file alone when its content would not change", async () => {
    const file = await bundleAgent(path.join(dir, "strata-agent.mjs"));
    const past = new Date("2020-01-01T00:00:00Z");
    fs.utimesSync(file, past, past);
    await bundleAgent(file);
    expect(fs.statSync(file).mtime.toISOString()).toBe(past.toISOString());
  });

  it("gives the same agent as text, small enough to be an overlay file of the device-agent layer (1 MiB)", async () => {
    const file = await bundleAgent(path.join(dir, "strata-agent.mjs"));
    const source = await agentBundleSource();
    expect(source).toBe(fs.readFileSync(file, "utf8"));
    expect(Buffer.byteLength(source)).toBeLessThan(1024 * 1024);
  });
});
