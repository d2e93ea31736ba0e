import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { clearSlot, readLayout, recordSlot, switchActive } from "./slots";

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "strata-slots-"));
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

const record = (digest: string) => ({ digest, image: `127.0.0.1:5000/acme/web@${digest}`, version: "1.0.0", releaseId: null, installedAt: "2026-12-02T00:00:00.000Z" });

describe("A/B slots", () => {
  it("starts with no active slot and a as the passive one", async () => {
    expect(await readLayout(root)).toEqual({ active: null, passive: "a", records: { a: null, b: null } });
  });

  it("switches the active marker atomically and alternates the passive slot", async () => {
    await clearSlot(root, "a");
    await recordSlot(root, "a", record("sha256:1"));
    await switchActive(root, "a");
    expect(fs.readFileSync(path.join(root, "active"), "utf8")).toBe("a\n");
    expect(fs.existsSync(path.join(root, "active.tmp"))).toBe(false);
    const layout = await readLayout(root);
    expect(layout).toMatchObject({ active: "a", passive: "b", records: { a: { digest: "sha256:1" }, b: null } });

    await switchActive(root, "b");
    expect((await readLayout(root)).passive).toBe("a");
  });

  it("wipes a slot, read-only directories included, and forgets its record first", async () => {
    const dir = await clearSlot(root, "b");
    fs.mkdirSync(path.join(dir, "proc"));
    fs.writeFileSync(path.join(dir, "proc", "left-over"), "x");
    fs.chmodSync(path.join(dir, "proc"), 0o555);
    await recordSlot(root, "b", record("sha256:2"));

    await clearSlot(root, "b");
    expect(fs.readdirSync(dir)).toEqual([]);
    expect((await readLayout(root)).records.b).toBeNull();
  });

  it("refuses a marker that names no slot", async () => {
    fs.writeFileSync(path.join(root, "active"), "c\n");
    await expect(readLayout(root)).rejects.toThrow(/holds "c", not "a" or "b"/);
  });
});
