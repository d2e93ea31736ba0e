import { describe, expect, test } from "vitest";
import { PackageDefinitionSchema } from "../manifest/schema";
import { diffDebianPackages, diffFiles, diffPackages } from "./diff";
import type { DebianPackage, IndexPackage, RepositoryFile } from "./types";

function indexPackage(id: string, version: string, artefact: { digest: string; size: number; uncompressedSize?: number; fileCount?: number }): IndexPackage {
  const [category, name] = id.split("/");
  return {
    category,
    name,
    version,
    description: "",
    requires: [],
    fromBase: false,
    artefact: {
      digest: `sha256:${artefact.digest.padEnd(64, "0")}`,
      size: artefact.size,
      uncompressedSize: artefact.uncompressedSize ?? artefact.size * 3,
      compression: "zstd",
      fileCount: artefact.fileCount ?? 1,
      deleted: [],
    },
    cacheKey: "c".repeat(64),
    cached: false,
    buildMs: null,
    definition: PackageDefinitionSchema.parse({ category, name, version }),
  };
}

const file = (path: string, extra: Partial<RepositoryFile> = {}): RepositoryFile => ({ path, type: "file", size: 10, mode: 0o644, ...extra });
const deb = (name: string, version: string, architecture = "amd64"): DebianPackage => ({ name, version, architecture });

describe("diffPackages", () => {
  const base = indexPackage("system/base", "1", { digest: "a1", size: 100 });
  const motd = indexPackage("layer/motd", "1", { digest: "b1", size: 10, uncompressedSize: 30, fileCount: 2 });
  const tools = indexPackage("layer/tools", "2", { digest: "c1", size: 50 });

  test("reports added, removed and unchanged packages with the size they add and take away", () => {
    const web = indexPackage("layer/web", "1", { digest: "d1", size: 70, uncompressedSize: 200 });
    const diff = diffPackages([base, motd, tools], [base, motd, web]);
    expect(diff.added).toEqual([web]);
    expect(diff.removed).toEqual([tools]);
    expect(diff.changed).toEqual([]);
    expect(diff.unchanged).toBe(2);
    expect(diff.sizeDelta).toBe(70 - 50);
    expect(diff.uncompressedSizeDelta).toBe(200 - 150);
  });

  test("a new artefact under the same version is a change with its size and file-count deltas", () => {
    const rebuilt = indexPackage("layer/motd", "1", { digest: "b2", size: 15, uncompressedSize: 40, fileCount: 5 });
    const diff = diffPackages([base, motd], [base, rebuilt]);
    expect(diff.changed).toEqual([
      { key: "layer/motd", from: motd, to: rebuilt, versionChanged: false, sameArtefact: false, sizeDelta: 5, uncompressedSizeDelta: 10, fileCountDelta: 3 },
    ]);
    expect(diff.unchanged).toBe(1);
    expect(diff.sizeDelta).toBe(5);
    expect(diff.uncompressedSizeDelta).toBe(10);
  });

  test("a new version with an identical artefact is still a change, marked sameArtefact", () => {
    const renumbered = indexPackage("layer/motd", "1.1", { digest: "b1", size: 10, uncompressedSize: 30, fileCount: 2 });
    const [change] = diffPackages([motd], [renumbered]).changed;
    expect(change).toMatchObject({ key: "layer/motd", versionChanged: true, sameArtefact: true, sizeDelta: 0, uncompressedSizeDelta: 0, fileCountDelta: 0 });
  });

  test("keys by category/name, so the same name in another category is another package", () => {
    const other = indexPackage("extra/motd", "1", { digest: "b1", size: 10 });
    const diff = diffPackages([motd], [other]);
    expect(diff.added).toEqual([other]);
    expect(diff.removed).toEqual([motd]);
    expect(diff.sizeDelta).toBe(0);
  });

  test("keeps build order and counts everything unchanged for identical revisions", () => {
    const diff = diffPackages([base, motd, tools], [base, motd, tools]);
    expect(diff).toEqual({ added: [], removed: [], changed: [], unchanged: 3, sizeDelta: 0, uncompressedSizeDelta: 0 });
    expect(diffPackages([], [tools, base, motd]).added.map((p) => p.name)).toEqual(["tools", "base", "motd"]);
  });
});

describe("diffFiles", () => {
  test("reports added and removed files sorted by path, and the size difference", () => {
    const diff = diffFiles([file("/z"), file("/b", { size: 4 }), file("/same")], [file("/same"), file("/y", { size: 7 }), file("/a", { size: 1 })]);
    expect(diff.added.map((f) => f.path)).toEqual(["/a", "/y"]);
    expect(diff.removed.map((f) => f.path)).toEqual(["/b", "/z"]);
    expect(diff.changed).toEqual([]);
    expect(diff.sizeDelta).toBe(1 + 7 - 4 - 10);
  });

  test("names each kind of change: type, size, mode, target and content", () => {
    const from = [
      file("/etc/link", { type: "symlink", size: 0, target: "/etc/a" }),
      file("/etc/conf", { size: 10, sha256: "sha256:1" }),
      file("/usr/bin/tool", { mode: 0o755 }),
      file("/var/thing", { type: "file" }),
      file("/etc/hard", { type: "link", size: 0, target: "/etc/a" }),
    ];
    const to = [
      file("/etc/link", { type: "symlink", size: 0, target: "/etc/b" }),
      file("/etc/conf", { size: 12, sha256: "sha256:2" }),
      file("/usr/bin/tool", { mode: 0o4755 }),
      file("/var/thing", { type: "directory", size: 0 }),
      file("/etc/hard", { type: "link", size: 0, target: "/etc/a" }),
    ];
    const diff = diffFiles(from, to);
    expect(diff.changed.map((c) => [c.path, c.changes])).toEqual([
      ["/etc/conf", ["size", "content"]],
      ["/etc/link", ["target"]],
      ["/usr/bin/tool", ["mode"]],
      ["/var/thing", ["type", "size"]],
    ]);
    expect(diff.changed[0]).toMatchObject({ from: from[1], to: to[1] });
    expect(diff.sizeDelta).toBe(2 - 10);
  });

  test("reports content only when both hashes are known; an unknown hash with an equal size is not a change", () => {
    const diff = diffFiles(
      [file("/known", { sha256: "sha256:1" }), file("/old-unknown", { sha256: null }), file("/new-unknown", { sha256: "sha256:1" }), file("/grown")],
      [file("/known", { sha256: "sha256:2" }), file("/old-unknown", { sha256: "sha256:2" }), file("/new-unknown"), file("/grown", { size: 11 })],
    );
    expect(diff.changed.map((c) => [c.path, c.changes])).toEqual([
      ["/grown", ["size"]],
      ["/known", ["content"]],
    ]);
  });

  test("treats a missing and a null target alike", () => {
    expect(diffFiles([file("/f", { target: null })], [file("/f")]).changed).toEqual([]);
  });

  test("diffs 50,000 files per side", () => {
    const count = 50_000;
    const from: RepositoryFile[] = [];
    const to: RepositoryFile[] = [];
    for (let i = 0; i < count; i++) {
      const path = `/usr/share/doc/pkg-${String(i).padStart(5, "0")}/copyright`;
      from.push(file(path, { sha256: `sha256:${i}` }));
      // Every 10th file gets new content, every 100th is replaced by a new path.
      if (i % 100 === 0) to.push(file(`/opt/new-${i}`, { size: 3 }));
      else to.push(file(path, { sha256: `sha256:${i % 10 === 0 ? "x" : ""}${i}` }));
    }
    // Unsorted input must come out sorted.
    to.reverse();
    const diff = diffFiles(from, to);
    expect(diff.added).toHaveLength(500);
    expect(diff.removed).toHaveLength(500);
    expect(diff.changed).toHaveLength(5_000 - 500);
    expect(diff.changed.every((c) => c.changes.join() === "content")).toBe(true);
    expect(diff.sizeDelta).toBe(500 * (3 - 10));
    const paths = diff.changed.map((c) => c.path);
    expect(paths).toEqual([...paths].sort());
  });
});

describe("diffDebianPackages", () => {
  test("reports added, removed and upgraded packages sorted by name, then architecture", () => {
    const diff = diffDebianPackages(
      [deb("zlib1g", "1:1.2.13"), deb("libc6", "2.36-9", "i386"), deb("libc6", "2.36-9"), deb("curl", "7.88.1-10"), deb("bash", "5.2.15-2")],
      [deb("libc6", "2.36-9+deb12u4"), deb("libc6", "2.36-9+deb12u4", "i386"), deb("bash", "5.2.15-2"), deb("jq", "1.6-2.1"), deb("apt", "2.6.1")],
    );
    expect(diff.added).toEqual([deb("apt", "2.6.1"), deb("jq", "1.6-2.1")]);
    expect(diff.removed).toEqual([deb("curl", "7.88.1-10"), deb("zlib1g", "1:1.2.13")]);
    expect(diff.changed).toEqual([
      { name: "libc6", architecture: "amd64", from: "2.36-9", to: "2.36-9+deb12u4" },
      { name: "libc6", architecture: "i386", from: "2.36-9", to: "2.36-9+deb12u4" },
    ]);
  });

  test("keys by architecture too: the same package for another architecture is added, not changed", () => {
    const diff = diffDebianPackages([deb("libc6", "2.36-9")], [deb("libc6", "2.36-9", "arm64")]);
    expect(diff.added).toEqual([deb("libc6", "2.36-9", "arm64")]);
    expect(diff.removed).toEqual([deb("libc6", "2.36-9")]);
    expect(diff.changed).toEqual([]);
  });
});
