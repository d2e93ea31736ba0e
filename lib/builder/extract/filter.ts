// What an artefact keeps of a layer: the entry types, the include/exclude filter, and the safety checks on names and links.
import type { RE2JS } from "re2js";
import { compilePathPattern, pathPatternProblems } from "../../manifest/path-pattern";
import type { Compression } from "./compress";
/** One entry of a layer tar, as tar-stream names its fields. */
export interface LayerEntry {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: Date;
  linkname?: string | null;
}

export type ArtefactFileType = "file" | "directory" | "symlink" | "link";

export interface ArtefactFile {
  /** Normalised absolute path, e.g. "/opt/hello". */
  path: string;
  type: ArtefactFileType;
  size: number;
  /** Permission bits including setuid/setgid/sticky (mode & 0o7777). */
  mode: number;
  /** Symlink target as stored, or the absolute path a hard link points to. */
  target?: string;
  /** "sha256:…" of a regular file's content (artefacts extracted before it was recorded have none). */
  sha256?: string;
}

export interface RejectedEntry {
  /** The entry name as it appeared in the layer. */
  name: string;
  reason: string;
}

export interface Artefact {
  /** "sha256:..." of the compressed bytes, which is also their name in the artefact store. */
  digest: string;
  /** Bytes of the compressed file. */
  size: number;
  /** Bytes of the tar inside it. */
  uncompressedSize: number;
  /** Kept entries that are not directories. */
  fileCount: number;
  /** Every kept entry, directories included, in archive order. */
  files: ArtefactFile[];
  /** Paths the layer deletes from lower layers; "dir/" means the directory's earlier content is replaced (opaque). */
  deleted: string[];
  rejected: RejectedEntry[];
  compression: Compression;
}

export type ExtractionMethod = "registry" | "upperdir" | "save" | "empty";

export interface ExtractFilter {
  includes?: readonly string[];
  excludes?: readonly string[];
}

/** Includes and excludes compiled with RE2: a match takes time linear in the path, whatever the pattern. */
interface CompiledFilter {
  includes: RE2JS[];
  excludes: RE2JS[];
}

export type EntryDecision =
  | { action: "keep"; path: string; type: ArtefactFileType; target?: string }
  | { action: "delete"; path: string }
  | { action: "skip"; path: string }
  | { action: "reject"; reason: string };

/**
 * A package's includes/excludes cannot be matched in linear time (a definition saved before patterns were checked
 * at save time): final, the same definition fails the same way.
 */
export class ArtefactFilterError extends Error {
  readonly retryable = false;
  constructor(message: string) {
    super(message);
    this.name = "ArtefactFilterError";
  }
}

/**
 * Compiles a package's includes/excludes; `packageId` names the package in the error when one is refused (the
 * schema refuses those at save time already, with the same message).
 */
export function compileFilter(filter: ExtractFilter, packageId = "the package"): CompiledFilter {
  const [problem] = pathPatternProblems(packageId, filter);
  if (problem) throw new ArtefactFilterError(`${problem.message}. Edit the package's ${problem.key} and build again.`);
  const compile = (pattern: string) => {
    const compiled = compilePathPattern(pattern);
    if (!compiled.ok) throw new ArtefactFilterError(`${packageId}: pattern "${pattern}" is refused: ${compiled.reason}`);
    return compiled.matcher;
  };
  return { includes: (filter.includes ?? []).map(compile), excludes: (filter.excludes ?? []).map(compile) };
}

/**
 * Splits an archive-relative name into segments. Returns an error reason for names that are
 * absolute or climb with "..": layer tars never contain those, so one that does is hostile.
 */
function segmentsOf(name: string): { segments: string[] } | { reason: string } {
  let rest = name;
  while (rest.startsWith("./")) rest = rest.slice(2);
  if (rest.startsWith("/")) return { reason: "absolute path" };
  if (rest.includes("\0")) return { reason: "NUL in name" };
  const segments = rest.split("/").filter((s) => s !== "" && s !== ".");
  if (segments.includes("..")) return { reason: "path contains '..'" };
  return { segments };
}

/** True when following `target` from the directory `fromDir` (absolute, normalised) would leave the root. */
export function linkEscapesRoot(fromDir: string, target: string): boolean {
  const start = target.startsWith("/") ? [] : fromDir.split("/").filter(Boolean);
  const stack = [...start];
  for (const segment of target.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      if (stack.length === 0) return true;
      stack.pop();
    } else stack.push(segment);
  }
  return false;
}

function passesFilter(p: string, isDirectory: boolean, filter: CompiledFilter): boolean {
  // Directories are matched with a trailing slash so that "^/var/cache/" covers /var/cache itself.
  const subject = isDirectory ? `${p}/` : p;
  if (filter.includes.length > 0 && !filter.includes.some((re) => re.test(subject))) return false;
  return !filter.excludes.some((re) => re.test(subject));
}

/**
 * Decides what happens to one layer entry. `kept` holds the paths kept so far (a hard link must
 * point at one of them, or the repacked archive would hold a dangling link).
 */
export function classifyEntry(entry: LayerEntry, filter: CompiledFilter, kept: ReadonlySet<string>): EntryDecision {
  const parsed = segmentsOf(entry.name);
  if ("reason" in parsed) return { action: "reject", reason: parsed.reason };
  const { segments } = parsed;
  if (segments.length === 0) return { action: "skip", path: "/" };
  const p = `/${segments.join("/")}`;
  const base = segments[segments.length - 1];
  const dir = `/${segments.slice(0, -1).join("/")}`;

  if (base.startsWith(".wh.")) {
    if (base === ".wh..wh..opq") {
      const opaqueDir = dir === "/" ? "/" : `${dir}/`;
      return passesFilter(dir, true, filter) ? { action: "delete", path: opaqueDir } : { action: "skip", path: opaqueDir };
    }
    // Other ".wh..wh." names are aufs bookkeeping, not deletions.
    if (base.startsWith(".wh..wh.")) return { action: "skip", path: p };
    const victim = `${dir === "/" ? "" : dir}/${base.slice(4)}`;
    return passesFilter(victim, false, filter) ? { action: "delete", path: victim } : { action: "skip", path: victim };
  }

  switch (entry.type) {
    case "file":
    case "contiguous-file":
      return passesFilter(p, false, filter) ? { action: "keep", path: p, type: "file" } : { action: "skip", path: p };
    case "directory":
      return passesFilter(p, true, filter) ? { action: "keep", path: p, type: "directory" } : { action: "skip", path: p };
    case "symlink": {
      const target = entry.linkname ?? "";
      if (!target) return { action: "reject", reason: "symlink without target" };
      if (linkEscapesRoot(dir, target)) return { action: "reject", reason: `symlink target escapes the root: ${target}` };
      return passesFilter(p, false, filter) ? { action: "keep", path: p, type: "symlink", target } : { action: "skip", path: p };
    }
    case "link": {
      const target = segmentsOf(entry.linkname ?? "");
      if ("reason" in target) return { action: "reject", reason: `hard link target: ${target.reason}` };
      if (target.segments.length === 0) return { action: "reject", reason: "hard link to the root" };
      const targetPath = `/${target.segments.join("/")}`;
      if (!passesFilter(p, false, filter)) return { action: "skip", path: p };
      if (!kept.has(targetPath)) return { action: "reject", reason: `hard link target is not in the artefact: ${targetPath}` };
      return { action: "keep", path: p, type: "link", target: targetPath };
    }
    case "character-device":
    case "block-device":
      return { action: "reject", reason: "device file" };
    case "fifo":
      return { action: "reject", reason: "fifo" };
    default:
      return { action: "reject", reason: `unsupported entry type ${entry.type}` };
  }
}

