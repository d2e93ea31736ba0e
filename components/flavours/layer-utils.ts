// Small pure helpers the layer editor's parts share (client-safe: no Node APIs).
import { checkOrder } from "@/lib/manifest/order";
import { NAME_PATTERN, type PackageDefinition } from "@/lib/manifest/schema";

export type Layer = PackageDefinition;

export const idOf = (p: { category: string; name: string }) => `${p.category}/${p.name}`;

/** JSON with sorted keys: two definitions that differ only in key order are the same definition. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (value && typeof value === "object")
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return JSON.stringify(value);
}

/** Order problems of the layers on top of the base (requires that are missing or come later, duplicates), by layer index. */
export function layerOrderProblems(base: Layer[], layers: Layer[]): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const e of checkOrder([...base, ...layers])) {
    if (e.index < base.length) continue;
    const i = e.index - base.length;
    out.set(i, [...(out.get(i) ?? []), e.message]);
  }
  return out;
}

/** Which layer a server issue path (`layers[3].requires[0]` or `layers.3.name`) points at, and the rest of the path. */
export function layerOfPath(path: string): { index: number; field: string } | null {
  const m = /^layers(?:\[(\d+)\]|\.(\d+))\.?(.*)$/.exec(path);
  if (!m) return null;
  return { index: Number(m[1] ?? m[2]), field: m[3] };
}

/** A layer name not used yet: `files`, `files-2`, … */
export function freeName(prefix: string, taken: Set<string>, category = "layer"): string {
  if (!taken.has(`${category}/${prefix}`)) return prefix;
  for (let n = 2; ; n++) if (!taken.has(`${category}/${prefix}-${n}`)) return `${prefix}-${n}`;
}

export const validName = (name: string) => name.length > 0 && name.length <= 64 && NAME_PATTERN.test(name);

/** The 1-based line of the first `key:` at the top level of a package YAML, to place an error found outside the parser. */
export function lineOfKey(yaml: string, key: string): number | undefined {
  const i = yaml.split("\n").findIndex((l) => new RegExp(`^${key}\\s*:`).test(l));
  return i >= 0 ? i + 1 : undefined;
}
