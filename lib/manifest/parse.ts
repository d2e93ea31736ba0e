// YAML → validated manifest, package or layer list, with every error placed at its line and field so the editor can underline it.
import { z } from "zod";
import { CST, Lexer, LineCounter, isAlias, isMap, isPair, isScalar, isSeq, parseDocument, visit, type Document, type Node } from "yaml";
import {
  ManifestSchema,
  PackageDefinitionSchema,
  packageId,
  type Manifest,
  type PackageDefinition,
} from "./schema";
import { checkOrder, type OrderError } from "./order";

export interface ParseIssue {
  /** Field path, e.g. `packages[2].files[0].mode`; "" for the document itself. */
  path: string;
  message: string;
  /** 1-based position of the offending node (its key for unknown fields). */
  line?: number;
  column?: number;
  /** `category/name` of the package the issue is in, when the text names it. */
  package?: string;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; errors: ParseIssue[] };

export type PathSegment = string | number;

/** Larger texts are refused before parsing: a manifest is a few hundred KiB, this leaves room for overlay files. */
export const MAX_YAML_CHARS = 32 * 1024 * 1024;
/** Aliases are legal YAML but a handful suffice; a cap stops "billion laughs" expansion. */
export const MAX_ALIAS_COUNT = 100;
/**
 * Nodes (keys, values, list items) a document may hold, counted by the lexer before anything is composed. The largest
 * base manifest has under a thousand and a flavour's 200 layers some thousands; composing costs about 5 µs a node,
 * and a document of 200k keys (400k nodes) would hold the web process for seconds.
 */
export const MAX_YAML_NODES = 50_000;
/** Zod issues placed per document: each is located by walking the document, and nobody reads ten thousand. */
const MAX_REPORTED_ISSUES = 50;

const LayersSchema = z.array(PackageDefinitionSchema).max(200, "at most 200 layers");

export interface ParseManifestOptions {
  /** Also run checkOrder (duplicates, unknown/forward requires, cycles). Default true. */
  checkOrder?: boolean;
}

export function parseManifestYaml(text: string, options: ParseManifestOptions = {}): ParseResult<Manifest> {
  const parsed = parseYamlWithSchema(text, ManifestSchema, "manifest");
  if (!parsed.ok || options.checkOrder === false) return parsed;
  const orderIssues = checkOrder(parsed.value.packages).map((e) => orderIssue(parsed.source, ["packages"], e));
  return orderIssues.length ? { ok: false, errors: orderIssues } : { ok: true, value: parsed.value };
}

export function parsePackageYaml(text: string): ParseResult<PackageDefinition> {
  return strip(parseYamlWithSchema(text, PackageDefinitionSchema, "package"));
}

export interface ParseLayersOptions {
  /** Packages the layers build on (the base manifest). Given, the layers are order-checked against them. */
  base?: PackageDefinition[];
}

/** The customer's layers: a YAML sequence of package definitions. */
export function parseLayersYaml(text: string, options: ParseLayersOptions = {}): ParseResult<PackageDefinition[]> {
  const parsed = parseYamlWithSchema(text, LayersSchema, "layers");
  if (!parsed.ok || !options.base) return strip(parsed);
  const offset = options.base.length;
  // Errors that sit in the base are not the customer's to fix; a layer clashing with a base package is reported on the layer.
  const issues = checkOrder([...options.base, ...parsed.value])
    .filter((e) => e.index >= offset)
    .map((e) => orderIssue(parsed.source, [], { ...e, index: e.index - offset, path: shiftIndex(e.path, offset) }));
  return issues.length ? { ok: false, errors: issues } : { ok: true, value: parsed.value };
}

/** The located source of a successful parse, kept so later checks can place their errors too. */
export interface YamlSource {
  doc: Document;
  lineCounter: LineCounter;
  root: "manifest" | "package" | "layers" | "other";
}

export type SourcedResult<T> = { ok: true; value: T; source: YamlSource } | { ok: false; errors: ParseIssue[] };

/**
 * Parses one YAML document and validates it with `schema`. `root` says what the document is, so issues can
 * name the package they are in and an empty document can say what was expected.
 */
export function parseYamlWithSchema<S extends z.ZodType>(
  text: string,
  schema: S,
  root: YamlSource["root"] = "other",
): SourcedResult<z.output<S>> {
  if (text.length > MAX_YAML_CHARS) {
    return { ok: false, errors: [{ path: "", message: `the document is larger than ${MAX_YAML_CHARS / 1024 / 1024} MiB` }] };
  }
  const overLimit = checkYamlSize(text);
  if (overLimit) return { ok: false, errors: [overLimit] };
  const lineCounter = new LineCounter();
  // uniqueKeys off: the library compares each new key with every earlier one (quadratic); duplicateKeys does it with a Set.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false, schema: "core", merge: false });
  const source: YamlSource = { doc, lineCounter, root };
  if (doc.errors.length) {
    return { ok: false, errors: doc.errors.map((e) => ({ path: "", message: e.message, ...position(source, e.pos[0]) })) };
  }
  const duplicates = duplicateKeys(doc);
  if (duplicates.length) {
    return { ok: false, errors: duplicates.slice(0, MAX_REPORTED_ISSUES).map((d) => ({ path: "", message: `the key "${d.key}" appears more than once in this mapping; keys must be unique`, ...position(source, d.offset) })) };
  }
  if (doc.contents === null) {
    return { ok: false, errors: [{ path: "", message: `the document is empty; expected ${describeRoot(root)}`, line: 1, column: 1 }] };
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    return { ok: false, errors: [{ path: "", message: `cannot read the document: ${(err as Error).message}`, line: 1, column: 1 }] };
  }
  const result = schema.safeParse(data);
  if (result.success) return { ok: true, value: result.data, source };
  const issues = result.error.issues.slice(0, MAX_REPORTED_ISSUES).flatMap((issue) => zodIssue(source, schema, data, issue));
  return { ok: false, errors: sortIssues(issues.slice(0, MAX_REPORTED_ISSUES)) };
}

/**
 * Counts nodes and aliases with the lexer alone (linear, nothing composed) and refuses a document over the limits,
 * placing the error where the limit was passed.
 */
export function checkYamlSize(text: string): ParseIssue | null {
  let nodes = 0;
  let aliases = 0;
  let offset = 0;
  let refused: string | null = null;
  for (const token of new Lexer().lex(text)) {
    const type = CST.tokenType(token);
    // The lexer's control characters mark what follows; they are not part of the text.
    const marker = type === "doc-mode" || type === "flow-error-end" || type === "scalar";
    // "scalar" is the marker before every plain and block scalar; quoted ones, aliases and flow collections come bare.
    if (type === "scalar" || type === "single-quoted-scalar" || type === "double-quoted-scalar" || type === "alias" || type === "flow-map-start" || type === "flow-seq-start") {
      if (++nodes > MAX_YAML_NODES) refused = `the document holds more than ${MAX_YAML_NODES.toLocaleString("en")} nodes (keys, values and list items), the most Strata reads; split it or remove entries`;
      else if (type === "alias" && ++aliases > MAX_ALIAS_COUNT) refused = `the document uses more than ${MAX_ALIAS_COUNT} aliases (*name), the most Strata reads; write the values out instead`;
      if (refused) {
        const before = text.slice(0, offset);
        const line = before.split("\n").length;
        return { path: "", message: refused, line, column: offset - before.lastIndexOf("\n") };
      }
    }
    if (!marker) offset += token.length;
  }
  return null;
}

/** Keys repeated within one mapping, in document order: one Set per mapping, so the check is linear in the keys. */
export function duplicateKeys(doc: Document): Array<{ key: string; offset: number }> {
  const found: Array<{ key: string; offset: number }> = [];
  visit(doc, {
    Map(_key, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        // Keys that are collections compare by identity in YAML 1.2's core schema, so only scalars can repeat.
        if (!isScalar(pair.key)) continue;
        if (seen.has(pair.key.value)) found.push({ key: String(pair.key.value), offset: pair.key.range?.[0] ?? 0 });
        else seen.add(pair.key.value);
      }
    },
  });
  return found;
}

/** Places an error at `path` (field segments from the document root) in a parsed source. */
export function locate(
  source: YamlSource,
  path: ReadonlyArray<PathSegment>,
  at: "value" | "key" = "value",
): { line?: number; column?: number } {
  const found = walk(source.doc, path);
  const node = (at === "key" ? found.key ?? found.node : found.node ?? found.key) ?? found.nearest;
  return node?.range ? position(source, node.range[0]) : {};
}

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((out, seg) => {
    if (typeof seg === "number") return `${out}[${seg}]`;
    return out ? `${out}.${String(seg)}` : String(seg);
  }, "");
}

function strip<T>(r: SourcedResult<T>): ParseResult<T> {
  return r.ok ? { ok: true, value: r.value } : r;
}

function shiftIndex(path: PathSegment[], offset: number): PathSegment[] {
  return typeof path[0] === "number" ? [path[0] - offset, ...path.slice(1)] : path;
}

function orderIssue(source: YamlSource, prefix: PathSegment[], e: OrderError): ParseIssue {
  const path = [...prefix, ...e.path];
  return { path: formatPath(path), message: e.message, package: e.package, ...locate(source, path) };
}

function position(source: YamlSource, offset: number): { line: number; column: number } {
  const { line, col } = source.lineCounter.linePos(offset);
  // LineCounter reports line 0 when the offset is before its first recorded newline, i.e. on line 1.
  return { line: Math.max(line, 1), column: Math.max(col, 1) };
}

type ZodIssueLike = z.core.$ZodIssue;

function zodIssue(source: YamlSource, schema: z.ZodType, data: unknown, issue: ZodIssueLike): ParseIssue[] {
  const path = issue.path.map((p) => (typeof p === "number" ? p : String(p)));
  const pkg = packageAt(source.root, data, path);
  if (issue.code === "unrecognized_keys") {
    return issue.keys.slice(0, MAX_REPORTED_ISSUES).map((key) => {
      const keyPath = [...path, key];
      const hint = suggest(key, objectKeysAt(schema, path));
      return {
        path: formatPath(keyPath),
        message: `unknown field "${key}"${hint ? `; did you mean "${hint}"?` : ""}`,
        ...locate(source, keyPath, "key"),
        ...pkg,
      };
    });
  }
  const found = walk(source.doc, path);
  const missing = found.node === undefined && found.key === undefined && path.length > 0;
  const message = missing ? `${String(path[path.length - 1])} is required` : issue.message;
  return [{ path: formatPath(path), message, ...locate(source, path), ...pkg }];
}

/** The `category/name` of the package a path points into, read from the raw data (it may be invalid). */
function packageAt(root: YamlSource["root"], data: unknown, path: PathSegment[]): { package?: string } {
  let raw: unknown;
  if (root === "package") raw = data;
  else if (root === "layers" && typeof path[0] === "number") raw = (data as unknown[])[path[0]];
  else if (root === "manifest" && path[0] === "packages" && typeof path[1] === "number") {
    raw = ((data as { packages?: unknown[] }).packages ?? [])[path[1]];
  }
  if (!raw || typeof raw !== "object") return {};
  const { category, name } = raw as { category?: unknown; name?: unknown };
  return typeof category === "string" && typeof name === "string" ? { package: packageId({ category, name }) } : {};
}

interface WalkResult {
  /** The node at the full path, when present. */
  node?: Node;
  /** The key of the last pair walked, for fields whose value is empty (`steps:`). */
  key?: Node;
  /** The deepest node that exists on the way, for missing fields. */
  nearest?: Node;
}

function walk(doc: Document, path: ReadonlyArray<PathSegment>): WalkResult {
  let current: unknown = doc.contents;
  let nearest = asNode(current);
  let key: Node | undefined;
  for (const seg of path) {
    key = undefined;
    if (isAlias(current)) current = current.resolve(doc);
    if (isMap(current)) {
      const pair = current.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) return { nearest };
      key = asNode(pair.key);
      current = pair.value;
    } else if (isSeq(current) && typeof seg === "number") {
      current = current.items[seg];
    } else {
      return { nearest };
    }
    const node = asNode(current);
    if (node) nearest = node;
    else if (!key) return { nearest };
  }
  return { node: asNode(current), key, nearest };
}

function asNode(value: unknown): Node | undefined {
  return value && typeof value === "object" && "range" in value ? (value as Node) : undefined;
}

function sortIssues(issues: ParseIssue[]): ParseIssue[] {
  return issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}

function describeRoot(root: YamlSource["root"]): string {
  switch (root) {
    case "manifest":
      return "a mapping with name, version, base_image and packages";
    case "package":
      return "a mapping with category, name, version and steps";
    case "layers":
      return "a list of package definitions";
    default:
      return "a YAML document";
  }
}

/** Field names the schema allows at `path` (through defaults, optionals, pipes and arrays), so a typo gets a suggestion. */
function objectKeysAt(schema: z.ZodType, path: ReadonlyArray<PathSegment>): string[] {
  let current: z.ZodType | undefined = unwrap(schema);
  for (const seg of path) {
    if (current instanceof z.ZodObject) current = (current.shape as Record<string, z.ZodType>)[String(seg)];
    else if (current instanceof z.ZodArray) current = current.element as z.ZodType;
    else return [];
    current = current && unwrap(current);
  }
  return current instanceof z.ZodObject ? Object.keys(current.shape) : [];
}

function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (;;) {
    if (current instanceof z.ZodDefault || current instanceof z.ZodOptional || current instanceof z.ZodNullable) {
      current = current.unwrap() as z.ZodType;
    } else if (current instanceof z.ZodPipe) {
      current = current.in as z.ZodType;
    } else {
      return current;
    }
  }
}

function suggest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c);
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  // Suggest only near misses; a distant "suggestion" is noise.
  return bestDistance <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length];
}
