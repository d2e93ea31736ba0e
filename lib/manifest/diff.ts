// What changed between two package lists (e.g. two flavour revisions), with a line diff per changed package.
import { canonicalJson } from "./hash";
import { packageId, type PackageDefinition } from "./schema";
import { toPackageYaml } from "./yaml";

export interface DiffLine {
  kind: "same" | "add" | "del";
  text: string;
}

export interface ChangedPackage {
  id: string;
  before: PackageDefinition;
  after: PackageDefinition;
  lines: DiffLine[];
}

export interface PackagesDiff {
  /** In `after` order. */
  added: PackageDefinition[];
  /** In `before` order. */
  removed: PackageDefinition[];
  /** Canonical JSON differs; in `after` order. */
  changed: ChangedPackage[];
  /** Ids whose canonical JSON is equal (they may still have moved). */
  unchanged: string[];
  /** Ids present in both whose position relative to the other kept packages changed (fewest such ids). */
  moved: string[];
}

/** Packages are matched by `category/name`; with duplicate ids (an invalid list) the first one counts. */
export function diffPackages(before: PackageDefinition[], after: PackageDefinition[]): PackagesDiff {
  const beforeById = byId(before);
  const afterById = byId(after);
  const diff: PackagesDiff = { added: [], removed: [], changed: [], unchanged: [], moved: [] };

  for (const [id, def] of afterById) {
    const old = beforeById.get(id);
    if (!old) diff.added.push(def);
    else if (canonicalJson(old) === canonicalJson(def)) diff.unchanged.push(id);
    else diff.changed.push({ id, before: old, after: def, lines: lineDiff(toPackageYaml(old), toPackageYaml(def)) });
  }
  for (const [id, def] of beforeById) if (!afterById.has(id)) diff.removed.push(def);

  const keptBefore = [...beforeById.keys()].filter((id) => afterById.has(id));
  const keptAfter = [...afterById.keys()].filter((id) => beforeById.has(id));
  diff.moved = sequenceDiff(keptBefore, keptAfter).filter((op) => op.kind === "add").map((op) => op.text);
  return diff;
}

function byId(packages: PackageDefinition[]): Map<string, PackageDefinition> {
  const map = new Map<string, PackageDefinition>();
  for (const p of packages) if (!map.has(packageId(p))) map.set(packageId(p), p);
  return map;
}

/** Line diff of two texts (a final newline does not make an extra empty line). */
export function lineDiff(a: string, b: string): DiffLine[] {
  return sequenceDiff(splitLines(a), splitLines(b));
}

function splitLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}

/**
 * Beyond this many edits the diff stops looking for the shortest script and reports the rest as replaced:
 * memory of the trace grows with the square of the edit count, and such a diff is unreadable anyway.
 */
export const MAX_EDIT_DISTANCE = 2000;

/** Myers' O((N+M)·D) shortest edit script on whole strings, after trimming the common prefix and suffix. */
export function sequenceDiff(a: string[], b: string[]): DiffLine[] {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }

  const same = (lines: string[]) => lines.map((text): DiffLine => ({ kind: "same", text }));
  const middle = myers(interned(a.slice(start, endA), b.slice(start, endB)), a.slice(start, endA), b.slice(start, endB));
  return [...same(a.slice(0, start)), ...middle, ...same(a.slice(endA))];
}

/** Maps lines to small integers so the inner loop compares numbers, not strings. */
function interned(a: string[], b: string[]): [Int32Array, Int32Array] {
  const ids = new Map<string, number>();
  const idOf = (line: string) => {
    let id = ids.get(line);
    if (id === undefined) ids.set(line, (id = ids.size));
    return id;
  };
  return [Int32Array.from(a, idOf), Int32Array.from(b, idOf)];
}

interface Snapshot {
  /** V[k] for k in [-d-1, d+1], stored at index k + d + 1. */
  values: Int32Array;
  d: number;
}

function myers([a, b]: [Int32Array, Int32Array], linesA: string[], linesB: string[]): DiffLine[] {
  const n = a.length;
  const m = b.length;
  if (n === 0 || m === 0) return replaced(linesA, linesB);
  const max = n + m;
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Snapshot[] = [];

  for (let d = 0; d <= max; d++) {
    if (d > MAX_EDIT_DISTANCE) return replaced(linesA, linesB);
    trace.push({ values: v.slice(offset - d - 1, offset + d + 2), d });
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1] < v[offset + k + 1]) ? v[offset + k + 1] : v[offset + k - 1] + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) return backtrack(trace, linesA, linesB);
    }
  }
  return replaced(linesA, linesB);
}

function backtrack(trace: Snapshot[], a: string[], b: string[]): DiffLine[] {
  const out: DiffLine[] = [];
  let x = a.length;
  let y = b.length;
  for (let d = trace.length - 1; d >= 0; d--) {
    const { values } = trace[d];
    const at = (k: number) => values[k + d + 1];
    const k = x - y;
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      out.push({ kind: "same", text: a[--x] });
      y--;
    }
    if (d > 0) {
      if (x === prevX) out.push({ kind: "add", text: b[--y] });
      else out.push({ kind: "del", text: a[--x] });
    }
    x = prevX;
    y = prevY;
  }
  return out.reverse();
}

function replaced(a: string[], b: string[]): DiffLine[] {
  return [...a.map((text): DiffLine => ({ kind: "del", text })), ...b.map((text): DiffLine => ({ kind: "add", text }))];
}
