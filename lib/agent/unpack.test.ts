import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeLayer, type LayerEntry } from "./fakes";
import { SlotUnpacker, entryPath } from "./unpack";

let work: string;
let slot: string;
let outside: string;

beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "strata-unpack-"));
  slot = path.join(work, "slot");
  outside = path.join(work, "outside");
  fs.mkdirSync(slot);
  fs.mkdirSync(outside);
});
afterEach(() => {
  // Directories the layers made read-only must be writable again to be removed.
  for (const dir of [slot]) fs.chmodSync(dir, 0o755);
  fs.rmSync(work, { recursive: true, force: true });
});

async function unpack(...layers: LayerEntry[][]): Promise<SlotUnpacker> {
  const unpacker = new SlotUnpacker(slot, { chown: false });
  for (const entries of layers) await unpacker.applyLayer(Readable.from([await makeLayer(entries)]), createGunzip());
  await unpacker.finish();
  return unpacker;
}

const read = (rel: string) => fs.readFileSync(path.join(slot, rel), "utf8");
const exists = (rel: string) => fs.existsSync(path.join(slot, rel));

describe("entryPath", () => {
  it("drops ./ and empty parts, and refuses absolute paths and ..", () => {
    expect(entryPath("./usr//bin/./env")).toBe("usr/bin/env");
    expect(entryPath("./")).toBe("");
    expect(() => entryPath("/etc/passwd")).toThrow(/absolute path/);
    expect(() => entryPath("usr/../../etc/passwd")).toThrow(/"\.\." component/);
  });
});

describe("SlotUnpacker", () => {
  it("writes files, directories, symlinks and hard links with their modes, and skips device files", async () => {
    const unpacker = await unpack([
      { name: "./etc/" },
      { name: "./etc/hostname", content: "kiosk\n", mode: 0o644 },
      { name: "./usr/bin/tool", content: "#!/bin/sh\n", mode: 0o4755 },
      { name: "./usr/bin/tool-alias", type: "link", linkname: "./usr/bin/tool" },
      { name: "./bin", type: "symlink", linkname: "usr/bin" },
      { name: "./dev/null", type: "character-device" },
      { name: "./run/initctl", type: "fifo" },
      { name: "./proc/", mode: 0o555 },
    ]);
    expect(read("etc/hostname")).toBe("kiosk\n");
    expect(fs.statSync(path.join(slot, "usr/bin/tool")).mode & 0o7777).toBe(0o4755);
    expect(fs.statSync(path.join(slot, "usr/bin/tool-alias")).ino).toBe(fs.statSync(path.join(slot, "usr/bin/tool")).ino);
    expect(fs.readlinkSync(path.join(slot, "bin"))).toBe("usr/bin");
    expect(fs.statSync(path.join(slot, "proc")).mode & 0o777).toBe(0o555);
    expect(fs.statSync(path.join(slot, "etc/hostname")).mtime.toISOString()).toBe("2026-01-02T03:04:05.000Z");
    expect(exists("dev/null")).toBe(false);
    expect(unpacker.stats.skippedSpecial).toBe(2);
  });

  it("applies whiteouts: .wh.<name> removes a lower file or directory", async () => {
    await unpack(
      [{ name: "etc/motd", content: "old" }, { name: "opt/app/bin", content: "x" }, { name: "etc/keep", content: "keep" }],
      [{ name: "etc/.wh.motd", content: "" }, { name: "opt/.wh.app", content: "" }],
    );
    expect(exists("etc/motd")).toBe(false);
    expect(exists("opt/app")).toBe(false);
    expect(read("etc/keep")).toBe("keep");
  });

  it("empties an opaque directory of lower entries but keeps what its own layer wrote, wherever the marker sits", async () => {
    await unpack(
      [{ name: "srv/a", content: "lower" }, { name: "srv/sub/b", content: "lower" }, { name: "var/x", content: "lower" }, { name: "var/y", content: "lower" }],
      [
        { name: "srv/new", content: "upper" },
        { name: "srv/.wh..wh..opq", content: "" },
        { name: "var/.wh..wh..opq", content: "" },
        { name: "var/y", content: "upper" },
      ],
    );
    expect(fs.readdirSync(path.join(slot, "srv"))).toEqual(["new"]);
    expect(fs.readdirSync(path.join(slot, "var"))).toEqual(["y"]);
    expect(read("var/y")).toBe("upper");
  });

  it("replaces a lower symlink with a file without writing through it", async () => {
    const victim = path.join(outside, "victim");
    fs.writeFileSync(victim, "untouched");
    await unpack([{ name: "etc/motd", type: "symlink", linkname: victim }], [{ name: "etc/motd", content: "hello" }]);
    expect(fs.readFileSync(victim, "utf8")).toBe("untouched");
    expect(fs.lstatSync(path.join(slot, "etc/motd")).isFile()).toBe(true);
  });

  it("refuses to write through a symlink an earlier layer left as a parent directory", async () => {
    await expect(unpack([{ name: "escape", type: "symlink", linkname: outside }], [{ name: "escape/pwned", content: "x" }])).rejects.toThrow(
      /would be written through "escape", which is a symbolic link/,
    );
    expect(fs.readdirSync(outside)).toEqual([]);
  });

  it("refuses entries that climb out of the slot or are absolute, and hard links to outside files", async () => {
    await expect(unpack([{ name: "../evil", content: "x" }])).rejects.toThrow(/"\.\." component/);
    await expect(unpack([{ name: "/etc/evil", content: "x" }])).rejects.toThrow(/absolute path/);
    await expect(unpack([{ name: "passwd", type: "link", linkname: "../../../etc/passwd" }])).rejects.toThrow(/"\.\." component/);
    await expect(
      unpack([{ name: "escape", type: "symlink", linkname: "/etc" }], [{ name: "passwd", type: "link", linkname: "escape/passwd" }]),
    ).rejects.toThrow(/not a file in the slot/);
    expect(fs.readdirSync(outside)).toEqual([]);
    expect(fs.readdirSync(work).sort()).toEqual(["outside", "slot"]);
  });

  it("ignores a whiteout whose directory is a symlink: nothing of the slot is there to hide", async () => {
    const victim = path.join(outside, "victim");
    fs.writeFileSync(victim, "untouched");
    await unpack([{ name: "link", type: "symlink", linkname: outside }], [{ name: "link/.wh.victim", content: "" }]);
    expect(fs.existsSync(victim)).toBe(true);
  });

  it("reads uncompressed tar layers too", async () => {
    const unpacker = new SlotUnpacker(slot, { chown: false });
    await unpacker.applyLayer(Readable.from([await makeLayer([{ name: "plain", content: "tar" }], false)]), null);
    expect(read("plain")).toBe("tar");
  });
});
