// What changed between two revisions of one flavour: its packages, the files of an artefact, and its Debian packages.
// Keyed set comparisons over Maps (linear in the entries, 50,000 files per side included); a text-diff library such as
// `diff` answers a different question (an edit script over sequences), so none is used here.
import { packageKey, type DebianPackage, type IndexPackage, type RepositoryFile } from "./types";

export interface PackageChange {
  /** "category/name". */
  key: string;
  from: IndexPackage;
  to: IndexPackage;
  versionChanged: boolean;
  /** Same artefact digest: only the version (or other metadata) changed, not a byte of the layer. */
  sameArtefact: boolean;
  /** Compressed bytes, to − from. */
  sizeDelta: number;
  uncompressedSizeDelta: number;
  fileCountDelta: number;
}

export interface PackagesDiff {
  /** In `to` (build) order. */
  added: IndexPackage[];
  /** In `from` (build) order. */
  removed: IndexPackage[];
  /** Artefact digest or version differs; in `to` order. */
  changed: PackageChange[];
  unchanged: number;
  /** Compressed bytes: added − removed + the changes. */
  sizeDelta: number;
  uncompressedSizeDelta: number;
}

/** Packages are matched by `category/name`; with a key twice in one list (an invalid revision) the first counts. */
export function diffPackages(from: readonly IndexPackage[], to: readonly IndexPackage[]): PackagesDiff {
  const before = firstByKey(from, packageKey);
  const after = firstByKey(to, packageKey);
  const diff: PackagesDiff = { added: [], removed: [], changed: [], unchanged: 0, sizeDelta: 0, uncompressedSizeDelta: 0 };

  for (const [key, next] of after) {
    const prev = before.get(key);
    if (!prev) {
      diff.added.push(next);
      diff.sizeDelta += next.artefact.size;
      diff.uncompressedSizeDelta += next.artefact.uncompressedSize;
      continue;
    }
    const sameArtefact = prev.artefact.digest === next.artefact.digest;
    const versionChanged = prev.version !== next.version;
    if (sameArtefact && !versionChanged) {
      diff.unchanged++;
      continue;
    }
    const change: PackageChange = {
      key,
      from: prev,
      to: next,
      versionChanged,
      sameArtefact,
      sizeDelta: next.artefact.size - prev.artefact.size,
      uncompressedSizeDelta: next.artefact.uncompressedSize - prev.artefact.uncompressedSize,
      fileCountDelta: next.artefact.fileCount - prev.artefact.fileCount,
    };
    diff.changed.push(change);
    diff.sizeDelta += change.sizeDelta;
    diff.uncompressedSizeDelta += change.uncompressedSizeDelta;
  }
  for (const [key, prev] of before) {
    if (after.has(key)) continue;
    diff.removed.push(prev);
    diff.sizeDelta -= prev.artefact.size;
    diff.uncompressedSizeDelta -= prev.artefact.uncompressedSize;
  }
  return diff;
}

export type FileChangeKind = "type" | "size" | "mode" | "target" | "content";

export interface FileChange {
  path: string;
  from: RepositoryFile;
  to: RepositoryFile;
  /** In this order: type, size, mode, target, content. */
  changes: FileChangeKind[];
}

export interface FilesDiff {
  /** All three sorted by path. */
  added: RepositoryFile[];
  removed: RepositoryFile[];
  changed: FileChange[];
  /** Bytes: added − removed + the changes. */
  sizeDelta: number;
}

/**
 * Files are matched by path. "content" is reported only when both sides recorded a sha256 and they differ: a file of
 * the same size whose hash is unknown on either side is not reported, because nothing says it changed.
 */
export function diffFiles(from: readonly RepositoryFile[], to: readonly RepositoryFile[]): FilesDiff {
  // A later entry wins, as when a tar naming a path twice is unpacked.
  const before = new Map<string, RepositoryFile>();
  for (const f of from) before.set(f.path, f);
  const after = new Map<string, RepositoryFile>();
  for (const f of to) after.set(f.path, f);
  const diff: FilesDiff = { added: [], removed: [], changed: [], sizeDelta: 0 };

  for (const [path, next] of after) {
    const prev = before.get(path);
    if (!prev) {
      diff.added.push(next);
      diff.sizeDelta += next.size;
      continue;
    }
    const changes = fileChanges(prev, next);
    if (changes.length === 0) continue;
    diff.changed.push({ path, from: prev, to: next, changes });
    diff.sizeDelta += next.size - prev.size;
  }
  for (const [path, prev] of before) {
    if (after.has(path)) continue;
    diff.removed.push(prev);
    diff.sizeDelta -= prev.size;
  }
  diff.added.sort(byPath);
  diff.removed.sort(byPath);
  diff.changed.sort(byPath);
  return diff;
}

function fileChanges(prev: RepositoryFile, next: RepositoryFile): FileChangeKind[] {
  const changes: FileChangeKind[] = [];
  if (prev.type !== next.type) changes.push("type");
  if (prev.size !== next.size) changes.push("size");
  if (prev.mode !== next.mode) changes.push("mode");
  // undefined and null both mean "no target".
  if ((prev.target ?? null) !== (next.target ?? null)) changes.push("target");
  if (prev.sha256 && next.sha256 && prev.sha256 !== next.sha256) changes.push("content");
  return changes;
}

export interface DebianPackageChange {
  name: string;
  architecture: string;
  /** Versions. */
  from: string;
  to: string;
}

export interface DebianPackagesDiff {
  /** All three sorted by name, then architecture. */
  added: DebianPackage[];
  removed: DebianPackage[];
  changed: DebianPackageChange[];
}

/** Debian packages are matched by name and architecture (a multi-arch image can hold libc6:amd64 and libc6:i386). */
export function diffDebianPackages(from: readonly DebianPackage[], to: readonly DebianPackage[]): DebianPackagesDiff {
  // NUL cannot occur in a dpkg field, so the key cannot collide.
  const key = (p: DebianPackage) => `${p.name}\0${p.architecture}`;
  const before = firstByKey(from, key);
  const after = firstByKey(to, key);
  const diff: DebianPackagesDiff = { added: [], removed: [], changed: [] };

  for (const [k, next] of after) {
    const prev = before.get(k);
    if (!prev) diff.added.push(next);
    else if (prev.version !== next.version) diff.changed.push({ name: next.name, architecture: next.architecture, from: prev.version, to: next.version });
  }
  for (const [k, prev] of before) if (!after.has(k)) diff.removed.push(prev);
  diff.added.sort(byNameAndArchitecture);
  diff.removed.sort(byNameAndArchitecture);
  diff.changed.sort(byNameAndArchitecture);
  return diff;
}

function firstByKey<T>(items: readonly T[], key: (item: T) => string): Map<string, T> {
  const map = new Map<string, T>();
  for (const item of items) {
    const k = key(item);
    if (!map.has(k)) map.set(k, item);
  }
  return map;
}

// Code-unit order, not localeCompare: stable across locales and fast enough for 50,000 paths; dpkg names are ASCII.
const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const byPath = (a: { path: string }, b: { path: string }) => compare(a.path, b.path);
const byNameAndArchitecture = (a: { name: string; architecture: string }, b: { name: string; architecture: string }) =>
  compare(a.name, b.name) || compare(a.architecture, b.architecture);
