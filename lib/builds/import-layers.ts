// The file-level side of an imported image: which paths a stack of layers holds, how each extra layer changes that
// (added, changed, removed), and the net change of several extra layers against the parent build.
import type { ArtefactChanges } from "../db/schema";
import type { Artefact } from "../builder/extract/filter";

export type PathChange = "added" | "changed" | "removed";

/** The paths of a root filesystem: path → whether it is a directory. */
export type RootfsPaths = Map<string, boolean>;

/** At most this many paths are kept per layer (the counts stay exact): an `apt-get install` can add tens of thousands. */
export const MAX_CHANGED_PATHS = 10_000;

/** The `changes` recorded on an imported layer's package row: against everything below it, with the layer's identity. */
export interface ImportedLayerChanges extends ArtefactChanges {
  layer: { diffId: string; digest: string; size: number; createdBy: string | null };
}

/** "./etc/motd" or "etc/" → "/etc/motd", "/etc"; null for the root or a name that climbs out. */
export function layerPath(name: string): string | null {
  const segments = name.split("/").filter((s) => s !== "" && s !== ".");
  if (segments.length === 0 || segments.includes("..")) return null;
  return `/${segments.join("/")}`;
}

function removeTree(paths: RootfsPaths, root: string, keepRoot: boolean) {
  const prefix = root === "/" ? "/" : `${root}/`;
  for (const p of paths.keys()) if ((p === root && !keepRoot) || p.startsWith(prefix)) paths.delete(p);
}

/**
 * Applies one layer's entries (tar names and types, in archive order) to `paths`: its whiteouts remove what lower
 * layers had (a file, a directory's tree, or with an opaque marker a directory's earlier content), then its entries
 * are added. Whiteouts go first so an entry of the same layer is never removed by its own layer's marker.
 */
export function applyLayer(paths: RootfsPaths, entries: ReadonlyArray<{ name: string; type: string }>) {
  const added: Array<[string, boolean]> = [];
  for (const entry of entries) {
    const p = layerPath(entry.name);
    if (!p) continue;
    const slash = p.lastIndexOf("/");
    const dir = slash === 0 ? "/" : p.slice(0, slash);
    const base = p.slice(slash + 1);
    if (base === ".wh..wh..opq") removeTree(paths, dir, true);
    else if (base.startsWith(".wh..wh.")) continue;
    else if (base.startsWith(".wh.")) removeTree(paths, `${dir === "/" ? "" : dir}/${base.slice(4)}`, false);
    else added.push([p, entry.type === "directory"]);
  }
  for (const [p, isDirectory] of added) paths.set(p, isDirectory);
}

/**
 * How one extra layer, already repacked into an artefact, changes the filesystem `below` it; `below` is then moved on
 * to include the layer, for the next one. Directories that existed already are not listed: a layer tar carries every
 * parent directory of a changed file, which says nothing about the directory itself.
 */
export function classifyLayer(below: RootfsPaths, artefact: Pick<Artefact, "files" | "deleted">): Omit<ArtefactChanges, "identical"> {
  const changes: Array<{ path: string; change: PathChange }> = [];
  // What an opaque directory hid but the layer brings back: changed, not added.
  const hidden = new Set<string>();
  for (const deleted of artefact.deleted) {
    if (deleted.endsWith("/")) {
      // An opaque directory: everything it held below is gone unless the layer brings it back.
      const dir = deleted.slice(0, -1) || "/";
      const prefix = dir === "/" ? "/" : `${dir}/`;
      const kept = new Set(artefact.files.map((f) => f.path));
      for (const p of below.keys()) {
        if (!p.startsWith(prefix)) continue;
        if (kept.has(p)) hidden.add(p);
        else changes.push({ path: p, change: "removed" });
      }
      removeTree(below, dir, true);
    } else if (below.has(deleted)) {
      changes.push({ path: deleted, change: "removed" });
      removeTree(below, deleted, false);
    }
  }
  for (const file of artefact.files) {
    const existed = below.has(file.path) || hidden.has(file.path);
    if (file.type === "directory") {
      if (!existed) changes.push({ path: file.path, change: "added" });
    } else {
      changes.push({ path: file.path, change: existed ? "changed" : "added" });
    }
    below.set(file.path, file.type === "directory");
  }
  changes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const count = (kind: PathChange) => changes.filter((c) => c.change === kind).length;
  return { added: count("added"), changed: count("changed"), removed: count("removed"), paths: changes.slice(0, MAX_CHANGED_PATHS) };
}

/**
 * The net change of extra layers, each listed against the layers below it, against the parent build: a path added
 * and later removed is no change, one removed and added again is changed, one added and then changed is added.
 */
export function netChanges(layers: ReadonlyArray<ReadonlyArray<{ path: string; change: PathChange }>>): Array<{ path: string; change: PathChange }> {
  const state = new Map<string, PathChange>();
  for (const layer of layers) {
    for (const { path, change } of layer) {
      const before = state.get(path);
      if (change === "removed") {
        if (before === "added") state.delete(path);
        else state.set(path, "removed");
      } else if (change === "added") {
        state.set(path, before === "removed" || before === "changed" ? "changed" : "added");
      } else {
        state.set(path, before === "added" ? "added" : "changed");
      }
    }
  }
  return [...state].map(([path, change]) => ({ path, change })).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
