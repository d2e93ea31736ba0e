// Manifest-level rules a single package cannot check: unique ids, requires that name earlier packages, no cycles.
import { NotFoundError } from "../errors";
import { packageId, type PackageDefinition } from "./schema";

export type OrderErrorCode =
  | "duplicate_package"
  | "self_requires"
  | "unknown_requires"
  | "forward_requires"
  | "requires_cycle"
  | "duplicate_overlay_path";

export interface OrderError {
  code: OrderErrorCode;
  /** `category/name` of the package the error is reported on. */
  package: string;
  /** Position of that package in the list. */
  index: number;
  /** Field path inside the list, e.g. `[3, "requires", 0]`; prefix it with the list's own path. */
  path: Array<string | number>;
  message: string;
  /** For cycles: the packages that require each other, in manifest order. */
  members?: string[];
}

type Pkg = Pick<PackageDefinition, "category" | "name"> & { requires?: string[]; files?: Array<{ path: string }> };

/**
 * Checks an ordered package list (base packages first, then layers). Each package builds on the image of the
 * one before it, so everything it requires must already be installed: requires may only point backwards.
 */
export function checkOrder(packages: ReadonlyArray<Pkg>): OrderError[] {
  const firstIndex = indexById(packages);
  const errors: OrderError[] = [...duplicateErrors(packages, firstIndex), ...overlayPathErrors(packages)];
  const cycles = findCycles(packages, firstIndex);
  const inCycle = new Map<string, number>();
  cycles.forEach((members, c) => members.forEach((m) => inCycle.set(m, c)));

  packages.forEach((pkg, index) => {
    const id = packageId(pkg);
    (pkg.requires ?? []).forEach((req, r) => {
      const at = { package: id, index, path: [index, "requires", r] };
      const target = firstIndex.get(req);
      if (req === id) {
        errors.push({ ...at, code: "self_requires", message: `${id} requires itself; remove "${req}" from its requires` });
      } else if (target === undefined) {
        errors.push({ ...at, code: "unknown_requires", message: `${id} requires ${req}, which is not in the manifest` });
      } else if (target > index && !(inCycle.has(id) && inCycle.get(id) === inCycle.get(req))) {
        errors.push({
          ...at,
          code: "forward_requires",
          message: `${id} requires ${req}, which comes later (position ${target + 1}); move ${req} before ${id}`,
        });
      }
    });
  });
  errors.push(...cycles.map((members) => cycleError(packages, firstIndex, members)));
  return errors.sort((a, b) => a.index - b.index);
}

function indexById(packages: ReadonlyArray<Pkg>): Map<string, number> {
  const first = new Map<string, number>();
  packages.forEach((p, i) => {
    if (!first.has(packageId(p))) first.set(packageId(p), i);
  });
  return first;
}

function duplicateErrors(packages: ReadonlyArray<Pkg>, firstIndex: Map<string, number>): OrderError[] {
  return packages.flatMap((pkg, index) => {
    const id = packageId(pkg);
    const first = firstIndex.get(id)!;
    if (first === index) return [];
    return [{
      code: "duplicate_package" as const,
      package: id,
      index,
      path: [index, "name"],
      message: `${id} is defined twice (positions ${first + 1} and ${index + 1}); package ids must be unique`,
    }];
  });
}

/** Two overlay files with one path in a package: the second silently wins, which is never what was meant. */
function overlayPathErrors(packages: ReadonlyArray<Pkg>): OrderError[] {
  return packages.flatMap((pkg, index) => {
    const seen = new Set<string>();
    return (pkg.files ?? []).flatMap((file, f) => {
      if (!seen.has(file.path)) {
        seen.add(file.path);
        return [];
      }
      return [{
        code: "duplicate_overlay_path" as const,
        package: packageId(pkg),
        index,
        path: [index, "files", f, "path"],
        message: `${packageId(pkg)} writes ${file.path} twice; keep one overlay file per path`,
      }];
    });
  });
}

/** Edges of the requires graph by position, skipping self and unknown requires (reported on their own). */
function edges(packages: ReadonlyArray<Pkg>, firstIndex: Map<string, number>): number[][] {
  return packages.map((pkg, index) => {
    if (firstIndex.get(packageId(pkg)) !== index) return [];
    const targets = (pkg.requires ?? []).map((r) => firstIndex.get(r)).filter((t): t is number => t !== undefined && t !== index);
    return [...new Set(targets)];
  });
}

/** Strongly connected components with more than one member (Tarjan), each as ids in manifest order. */
function findCycles(packages: ReadonlyArray<Pkg>, firstIndex: Map<string, number>): string[][] {
  const graph = edges(packages, firstIndex);
  const order: number[] = new Array(packages.length).fill(-1);
  const low: number[] = new Array(packages.length).fill(0);
  const onStack: boolean[] = new Array(packages.length).fill(false);
  const stack: number[] = [];
  const components: number[][] = [];
  let counter = 0;

  const visit = (v: number) => {
    order[v] = low[v] = counter++;
    stack.push(v);
    onStack[v] = true;
    for (const w of graph[v]) {
      if (order[w] === -1) {
        visit(w);
        low[v] = Math.min(low[v], low[w]);
      } else if (onStack[w]) {
        low[v] = Math.min(low[v], order[w]);
      }
    }
    if (low[v] === order[v]) {
      const component: number[] = [];
      let w: number;
      do {
        w = stack.pop()!;
        onStack[w] = false;
        component.push(w);
      } while (w !== v);
      if (component.length > 1) components.push(component);
    }
  };
  // Depth is bounded by the manifest size (schema: at most 200 packages + layers), so recursion is safe.
  for (let v = 0; v < packages.length; v++) if (order[v] === -1) visit(v);
  return components.map((c) => c.sort((a, b) => a - b).map((i) => packageId(packages[i])));
}

/** One error per cycle, placed on the requires entry that points forward (the one to remove or reorder). */
function cycleError(packages: ReadonlyArray<Pkg>, firstIndex: Map<string, number>, members: string[]): OrderError {
  const loop = concreteLoop(packages, firstIndex, members);
  let from = firstIndex.get(loop[0])!;
  let to = loop[1];
  for (let i = 0; i + 1 < loop.length; i++) {
    if (firstIndex.get(loop[i + 1])! > firstIndex.get(loop[i])!) {
      from = firstIndex.get(loop[i])!;
      to = loop[i + 1];
      break;
    }
  }
  const r = (packages[from].requires ?? []).indexOf(to);
  return {
    code: "requires_cycle",
    package: packageId(packages[from]),
    index: from,
    path: [from, "requires", r],
    members,
    message: `requires form a cycle: ${loop.join(" → ")}; packages build in order, so one of these requires must go`,
  };
}

/** A shortest path from the first member back to itself inside the component (BFS), as ids. */
function concreteLoop(packages: ReadonlyArray<Pkg>, firstIndex: Map<string, number>, members: string[]): string[] {
  const inside = new Set(members);
  const start = members[0];
  const parent = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const id = queue.shift()!;
    for (const next of packages[firstIndex.get(id)!].requires ?? []) {
      if (!inside.has(next) || next === id) continue;
      if (next === start) {
        const chain: string[] = [];
        for (let at = id; at !== start; at = parent.get(at)!) chain.push(at);
        return [start, ...chain.reverse(), start];
      }
      if (!parent.has(next)) {
        parent.set(next, id);
        queue.push(next);
      }
    }
  }
  // Unreachable for a real component; kept so a logic slip still yields a readable message.
  return [...members, start];
}

export interface RequiresGraph {
  nodes: Array<{ id: string; category: string; name: string; version?: string; index: number }>;
  /** `from` requires `to`; only edges to packages present in the list. */
  edges: Array<{ from: string; to: string }>;
}

/** The requires graph for display. */
export function requiresGraph(packages: ReadonlyArray<Pkg & { version?: string }>): RequiresGraph {
  const firstIndex = indexById(packages);
  const nodes = packages
    .map((p, index) => ({ id: packageId(p), category: p.category, name: p.name, version: p.version, index }))
    .filter((n) => firstIndex.get(n.id) === n.index);
  const edgeList = nodes.flatMap((n) =>
    [...new Set(packages[n.index].requires ?? [])].filter((to) => firstIndex.has(to) && to !== n.id).map((to) => ({ from: n.id, to })),
  );
  return { nodes, edges: edgeList };
}

/** id → ids of the packages that directly require it, in manifest order. */
export function requiredByMap(packages: ReadonlyArray<Pkg>): Map<string, string[]> {
  const map = new Map<string, string[]>(packages.map((p) => [packageId(p), []]));
  for (const { from, to } of requiresGraph(packages).edges) map.get(to)!.push(from);
  return map;
}

/** Ids of the packages that directly require `id`. */
export function requiredBy(packages: ReadonlyArray<Pkg>, id: string): string[] {
  return requiredByMap(packages).get(id) ?? [];
}

/** Everything `id` needs, directly or through other packages, in manifest order (cycle-safe; `id` itself excluded). */
export function transitiveRequires(packages: ReadonlyArray<Pkg>, id: string): string[] {
  const graph = requiresGraph(packages);
  const next = new Map<string, string[]>();
  for (const e of graph.edges) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  return closure(graph, id, next);
}

/** Everything that would break if `id` were removed: its direct and indirect dependents, in manifest order. */
export function transitiveRequiredBy(packages: ReadonlyArray<Pkg>, id: string): string[] {
  const graph = requiresGraph(packages);
  const next = new Map<string, string[]>();
  for (const e of graph.edges) next.set(e.to, [...(next.get(e.to) ?? []), e.from]);
  return closure(graph, id, next);
}

function closure(graph: RequiresGraph, id: string, next: Map<string, string[]>): string[] {
  if (!graph.nodes.some((n) => n.id === id)) throw new NotFoundError(`package ${id} is not in the manifest`);
  const seen = new Set<string>();
  const todo = [...(next.get(id) ?? [])];
  while (todo.length) {
    const current = todo.pop()!;
    if (seen.has(current) || current === id) continue;
    seen.add(current);
    todo.push(...(next.get(current) ?? []));
  }
  return graph.nodes.map((n) => n.id).filter((n) => seen.has(n));
}
