// Manifests and packages rendered as YAML people read: fixed key order, block scalars for multi-line text.
import { Document, isNode, isScalar, isSeq, visit, type ToStringOptions } from "yaml";
import type { Manifest, ManifestHeader, PackageDefinitionInput } from "./schema";

/** Key order of a package, most identifying first; also used by the luet export. */
export const PACKAGE_KEY_ORDER = [
  "category",
  "name",
  "version",
  "description",
  "requires",
  "steps",
  "files",
  "includes",
  "excludes",
] as const;
const FILE_KEY_ORDER = ["path", "mode", "content"] as const;
const HEADER_KEY_ORDER = ["name", "version", "base_image", "description"] as const;

// lineWidth 0: never fold long lines; a folded apt-get line is harder to read and to diff.
const STRINGIFY: ToStringOptions = { lineWidth: 0, minContentWidth: 0 };

export function toPackageYaml(def: PackageDefinitionInput): string {
  return render(packageObject(def));
}

export function toManifestYaml(manifest: ManifestHeader & { packages: PackageDefinitionInput[] } | Manifest): string {
  const body = { ...headerObject(manifest), packages: manifest.packages.map(packageObject) };
  return render(body, { spaceBetweenPackages: true });
}

/** The customer's layers: a YAML sequence of package definitions (what parseLayersYaml reads). */
export function toLayersYaml(layers: PackageDefinitionInput[]): string {
  if (layers.length === 0) return "[]\n";
  return render(layers.map(packageObject), { spaceBetweenPackages: true });
}

/** A package as a plain object in display order; empty optional fields are left out (the schema defaults them back). */
export function packageObject(def: PackageDefinitionInput): Record<string, unknown> {
  const source = def as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of PACKAGE_KEY_ORDER) {
    const value = source[key];
    if (isEmpty(value)) continue;
    out[key] = key === "files" ? (value as Array<Record<string, unknown>>).map(fileObject) : value;
  }
  return out;
}

export function headerObject(header: Partial<ManifestHeader>): Record<string, unknown> {
  const source = header as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of HEADER_KEY_ORDER) if (!isEmpty(source[key])) out[key] = source[key];
  return out;
}

function fileObject(file: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of FILE_KEY_ORDER) if (file[key] !== undefined) out[key] = file[key];
  return out;
}

function isEmpty(value: unknown): boolean {
  return value === undefined || value === null || value === "" || (Array.isArray(value) && value.length === 0);
}

function render(value: unknown, options: { spaceBetweenPackages?: boolean } = {}): string {
  const doc = new Document(value, { version: "1.2" });
  visit(doc, {
    Scalar(_key, node) {
      // Literal blocks keep scripts and file contents readable; the library falls back to quoting
      // by itself when a text cannot be a block (e.g. it holds control characters).
      if (typeof node.value === "string" && node.value.includes("\n")) node.type = "BLOCK_LITERAL";
    },
  });
  // Short id lists read best inline, as in the design's examples: `requires: [system/base]`.
  visit(doc, {
    Pair(_key, pair) {
      if (isScalar(pair.key) && pair.key.value === "requires" && isSeq(pair.value)) pair.value.flow = true;
    },
  });
  if (options.spaceBetweenPackages) {
    // A blank line between packages: the package list is the manifest's `packages` or the layers document itself.
    const list = isSeq(doc.contents) ? doc.contents : doc.get("packages", true);
    if (isSeq(list)) list.items.forEach((item, i) => i > 0 && isNode(item) && (item.spaceBefore = true));
  }
  return doc.toString(STRINGIFY);
}
