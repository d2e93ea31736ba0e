// The artefact filter against hand-made hostile and ordinary layer tars (no engine needed).
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import zlib from "node:zlib";
import tar from "tar-stream";
import { afterAll, describe, expect, it } from "vitest";
import { ArtefactStore } from "../artefact-store";
import { classifyEntry, compileFilter, compressionFromEnv, linkEscapesRoot, repackLayerTar } from "./index";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "strata-extract-"));
const store = new ArtefactStore(root);
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

type Entry = Parameters<tar.Pack["entry"]>[0] & { body?: string };

async function layerTar(entries: Entry[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const { body, ...header } of entries) pack.entry(header, body ?? "");
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Names and contents of the entries in a stored artefact. */
async function readArtefact(artefact: { digest: string; compression: string }): Promise<Map<string, { type: string; body: string; linkname?: string | null }>> {
  const out = new Map<string, { type: string; body: string; linkname?: string | null }>();
  const extract = tar.extract();
  if (artefact.compression === "zstd") {
    // Decompressed by the stock tool, as anyone reading the artefact would.
    const zstd = spawn("zstd", ["-d", "-c", "-q"], { stdio: ["pipe", "pipe", "inherit"] });
    store.open(artefact.digest).pipe(zstd.stdin);
    zstd.stdout.pipe(extract as unknown as NodeJS.WritableStream);
  } else {
    store.open(artefact.digest).pipe(zlib.createGunzip()).pipe(extract as unknown as NodeJS.WritableStream);
  }
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    out.set(entry.header.name, { type: entry.header.type, body: Buffer.concat(chunks).toString(), linkname: entry.header.linkname });
  }
  return out;
}

const ordinary: Entry[] = [
  { name: "etc/", type: "directory", mode: 0o755 },
  { name: "etc/motd", mode: 0o644, body: "hello\n" },
  { name: "etc/.wh.issue", mode: 0o600 },
  { name: "opt/", type: "directory", mode: 0o755 },
  { name: "opt/app/", type: "directory", mode: 0o755 },
  { name: "opt/app/.wh..wh..opq", mode: 0o600 },
  { name: "opt/app/run", mode: 0o4755, body: "#!/bin/sh\n" },
  { name: "opt/app/run-again", type: "link", linkname: "opt/app/run" },
  { name: "opt/app/current", type: "symlink", linkname: "run" },
  { name: "usr/", type: "directory", mode: 0o755 },
  { name: "usr/lib/", type: "directory", mode: 0o755 },
  { name: "usr/lib/os-release", type: "symlink", linkname: "/etc/os-release" },
  { name: "var/", type: "directory", mode: 0o755 },
  { name: "var/cache/", type: "directory", mode: 0o755 },
  { name: "var/cache/apt.bin", body: "cache" },
];

const hostile: Entry[] = [
  { name: "../evil", body: "outside" },
  { name: "etc/../../evil2", body: "outside" },
  { name: "/abs", body: "absolute" },
  { name: "dev/", type: "directory", mode: 0o755 },
  { name: "dev/sda", type: "block-device", devmajor: 8, devminor: 0 },
  { name: "dev/null", type: "character-device", devmajor: 1, devminor: 3 },
  { name: "run/", type: "directory" },
  { name: "run/pipe", type: "fifo" },
  { name: "etc/", type: "directory" },
  { name: "etc/passwd-link", type: "symlink", linkname: "../../../etc/passwd" },
  { name: "etc/shadow-link", type: "link", linkname: "../etc/shadow" },
  { name: "etc/dangling-hard", type: "link", linkname: "etc/not-in-layer" },
  { name: "etc/ok", body: "fine" },
];

describe("layer filter", () => {
  it("keeps ordinary entries, records whiteouts as deletions, and keeps modes and links", async () => {
    const artefact = await repackLayerTar(Readable.from(await layerTar(ordinary)), { filter: {}, store });
    expect(artefact.rejected).toEqual([]);
    expect(artefact.deleted).toEqual(["/etc/issue", "/opt/app/"]);
    expect(artefact.files.find((f) => f.path === "/opt/app/run")).toMatchObject({ type: "file", mode: 0o4755, size: 10 });
    expect(artefact.files.find((f) => f.path === "/opt/app/run-again")).toMatchObject({ type: "link", target: "/opt/app/run" });
    expect(artefact.fileCount).toBe(6);
    expect(store.has(artefact.digest)).toBe(true);
    expect(fs.statSync(store.pathOf(artefact.digest)).size).toBe(artefact.size);

    const stored = await readArtefact(artefact);
    expect(stored.get("etc/motd")?.body).toBe("hello\n");
    expect(stored.get("opt/app/run-again")).toMatchObject({ type: "link", linkname: "opt/app/run" });
    expect(stored.get("usr/lib/os-release")).toMatchObject({ type: "symlink", linkname: "/etc/os-release" });
    expect([...stored.keys()].some((n) => n.includes(".wh."))).toBe(false);
  });

  it("rejects escaping names, devices, fifos and escaping links, and stores none of them", async () => {
    const artefact = await repackLayerTar(Readable.from(await layerTar(hostile)), { filter: {}, store });
    const reasons = Object.fromEntries(artefact.rejected.map((r) => [r.name, r.reason]));
    expect(Object.keys(reasons).sort()).toEqual(
      ["../evil", "etc/../../evil2", "/abs", "dev/sda", "dev/null", "run/pipe", "etc/passwd-link", "etc/shadow-link", "etc/dangling-hard"].sort(),
    );
    expect(reasons["../evil"]).toMatch(/\.\./);
    expect(reasons["/abs"]).toMatch(/absolute/);
    expect(reasons["dev/null"]).toMatch(/device/);
    expect(reasons["etc/passwd-link"]).toMatch(/escapes/);

    const stored = await readArtefact(artefact);
    expect([...stored.keys()].sort()).toEqual(["dev/", "etc/", "etc/ok", "run/"]);
  });

  it("honours includes and excludes, matching directories with a trailing slash", async () => {
    const artefact = await repackLayerTar(Readable.from(await layerTar(ordinary)), {
      filter: { includes: ["^/(etc|opt|var)/"], excludes: ["^/var/cache/", "^/opt/app/current$"] },
      store,
    });
    const paths = artefact.files.map((f) => f.path);
    expect(paths).toContain("/etc/motd");
    expect(paths).toContain("/opt/app/run");
    expect(paths).not.toContain("/opt/app/current");
    expect(paths).not.toContain("/var/cache");
    expect(paths).not.toContain("/var/cache/apt.bin");
    expect(paths).not.toContain("/usr/lib/os-release");
    const stored = await readArtefact(artefact);
    expect(stored.has("var/cache/apt.bin")).toBe(false);
  });

  it("gives the same digest for the same layer (content addressed, idempotent store)", async () => {
    const layer = await layerTar(ordinary);
    const a = await repackLayerTar(Readable.from(layer), { filter: {}, store });
    const b = await repackLayerTar(Readable.from(layer), { filter: {}, store });
    expect(b.digest).toBe(a.digest);
    expect(fs.readdirSync(path.join(root, "tmp"))).toEqual([]);
  });

  it("compresses with zstd by default, or gzip when asked, and both hold the same archive", async () => {
    const layer = await layerTar(ordinary);
    const zstd = await repackLayerTar(Readable.from(layer), { filter: {}, store });
    const gzip = await repackLayerTar(Readable.from(layer), { filter: {}, store, compression: { kind: "gzip", level: 6 } });
    expect(zstd.compression).toBe("zstd");
    expect(gzip.compression).toBe("gzip");
    expect(zstd.digest).not.toBe(gzip.digest);
    expect(zstd.uncompressedSize).toBe(gzip.uncompressedSize);
    expect([...(await readArtefact(zstd)).entries()]).toEqual([...(await readArtefact(gzip)).entries()]);
  });

  it("says which setting is wrong in STRATA_ARTEFACT_COMPRESSION", () => {
    expect(compressionFromEnv({ STRATA_ARTEFACT_COMPRESSION: "gzip:9" })).toEqual({ kind: "gzip", level: 9 });
    expect(compressionFromEnv({ STRATA_ARTEFACT_COMPRESSION: "zstd:1" })).toEqual({ kind: "zstd", level: 1 });
    expect(() => compressionFromEnv({ STRATA_ARTEFACT_COMPRESSION: "lz4" })).toThrow(/STRATA_ARTEFACT_COMPRESSION must be/);
    expect(() => compressionFromEnv({ STRATA_ARTEFACT_COMPRESSION: "gzip:12" })).toThrow(/gzip levels go from 1 to 9/);
  });

  it("drops a hard link whose target was excluded instead of storing a dangling link", () => {
    const filter = compileFilter({ excludes: ["^/opt/app/run$"] });
    const decision = classifyEntry(
      { name: "opt/app/run-again", type: "link", linkname: "opt/app/run", mode: 0o755, uid: 0, gid: 0, size: 0, mtime: new Date() },
      filter,
      new Set(),
    );
    expect(decision).toMatchObject({ action: "reject" });
  });

  it("judges link targets against the root, not the host", () => {
    expect(linkEscapesRoot("/usr/bin", "../lib/x")).toBe(false);
    expect(linkEscapesRoot("/usr/bin", "../../../x")).toBe(true);
    expect(linkEscapesRoot("/", "/etc/passwd")).toBe(false);
    expect(linkEscapesRoot("/etc", "/../../etc/passwd")).toBe(true);
  });
});
