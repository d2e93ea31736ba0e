// Export and import of a manifest as a luet-style package tree in a tar (one folder per package).
//
// Layout:
//   manifest.yaml                                 header + `packages: [category/name, ...]` (the build order)
//   packages/<category>/<name>/definition.yaml    category, name, version, description, requires: [{category, name}]
//   packages/<category>/<name>/build.yaml         steps, files: [{path, mode}], includes, excludes
//   packages/<category>/<name>/overlay/<path>     content of each overlay file
// Overlay contents are separate entries (not inlined in build.yaml) so a 1 MiB overlay file stays within the
// per-entry limit and the tree reads like a luet package directory.
import { Readable } from "node:stream";
import * as tar from "tar-stream";
import { z } from "zod";
import { ValidationError } from "../errors";
import { checkOrder } from "./order";
import { formatPath, locate, parseYamlWithSchema, type PathSegment, type YamlSource } from "./parse";
import {
  PACKAGE_ID_PATTERN,
  ManifestHeaderSchema,
  ManifestSchema,
  ModeSchema,
  OverlayPathSchema,
  packageId,
  type Manifest,
  type PackageDefinitionInput,
} from "./schema";
import { headerObject } from "./yaml";
import { Document } from "yaml";

export const MAX_LUET_ENTRY_BYTES = 1024 * 1024;
export const MAX_LUET_ENTRIES = 500;

export interface LuetIssue {
  /** Path of the tar entry, e.g. `packages/system/base/build.yaml`. */
  file: string;
  /** Field inside it, e.g. `steps[2]`; "" for the file itself. */
  path: string;
  message: string;
  line?: number;
  column?: number;
}


const LuetManifestSchema = ManifestHeaderSchema.extend({
  packages: z
    .array(z.string().regex(PACKAGE_ID_PATTERN, "packages entries are category/name"))
    .min(1, "a manifest needs at least one package")
    .max(200),
}).strict();

const LuetDefinitionSchema = z
  .object({
    category: z.string(),
    name: z.string(),
    version: z.string(),
    description: z.string().optional(),
    // luet writes `version` constraints on requires; Strata builds in manifest order, so they are accepted and ignored.
    requires: z.array(z.object({ category: z.string(), name: z.string(), version: z.string().optional() }).strict()).default([]),
  })
  .strict();

const LuetBuildSchema = z
  .object({
    steps: z.array(z.string()).default([]),
    files: z.array(z.object({ path: OverlayPathSchema, mode: ModeSchema.default("0644") }).strict()).default([]),
    includes: z.array(z.string()).default([]),
    excludes: z.array(z.string()).default([]),
  })
  .strict();

const packageDir = (id: string) => `packages/${id}`;
const overlayEntry = (id: string, path: string) => `${packageDir(id)}/overlay${path}`;
// Fixed metadata so the same manifest always packs to the same bytes.
const ENTRY_DEFAULTS = { mtime: new Date(0), uid: 0, gid: 0, uname: "root", gname: "root" };

/** The tar as a stream (validated first: an invalid manifest throws ValidationError before any byte is written). */
export function luetTarStream(manifest: Manifest): Readable {
  const entries = luetEntries(manifest);
  const pack = tar.pack();
  // tar-stream packs into a streamx stream; callers get a Node Readable (pipe into a response or a file).
  const out = Readable.from(pack);
  (async () => {
    for (const entry of entries) {
      await new Promise<void>((resolve, reject) =>
        pack.entry({ ...ENTRY_DEFAULTS, name: entry.name, mode: entry.mode, type: "file" }, entry.body, (err) => (err ? reject(err) : resolve())),
      );
    }
    pack.finalize();
  })().catch((err) => out.destroy(err as Error));
  return out;
}

export async function exportLuetTar(manifest: Manifest): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of luetTarStream(manifest)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

interface TarFile {
  name: string;
  mode: number;
  body: Buffer;
}

function luetEntries(input: Manifest): TarFile[] {
  const parsed = ManifestSchema.safeParse(input);
  if (!parsed.success) {
    throw new ValidationError(`cannot export an invalid manifest: ${parsed.error.issues.map((i) => `${formatPath(i.path as PathSegment[])}: ${i.message}`).join("; ")}`);
  }
  const manifest = parsed.data;
  const order = checkOrder(manifest.packages);
  if (order.length) throw new ValidationError(`cannot export an invalid manifest: ${order.map((e) => e.message).join("; ")}`, { errors: order });

  const yamlFile = (name: string, value: unknown): TarFile => ({ name, mode: 0o644, body: Buffer.from(yamlText(value), "utf8") });
  const files: TarFile[] = [
    yamlFile("manifest.yaml", { ...headerObject(manifest), packages: manifest.packages.map(packageId) }),
  ];
  for (const pkg of manifest.packages) {
    const id = packageId(pkg);
    files.push(
      yamlFile(`${packageDir(id)}/definition.yaml`, {
        category: pkg.category,
        name: pkg.name,
        version: pkg.version,
        ...(pkg.description ? { description: pkg.description } : {}),
        ...(pkg.requires.length ? { requires: pkg.requires.map(splitId) } : {}),
      }),
      yamlFile(`${packageDir(id)}/build.yaml`, {
        ...(pkg.steps.length ? { steps: pkg.steps } : {}),
        ...(pkg.files.length ? { files: pkg.files.map(({ path, mode }) => ({ path, mode })) } : {}),
        ...(pkg.includes.length ? { includes: pkg.includes } : {}),
        ...(pkg.excludes.length ? { excludes: pkg.excludes } : {}),
      }),
      ...pkg.files.map((f) => ({ name: overlayEntry(id, f.path), mode: parseInt(f.mode, 8), body: Buffer.from(f.content, "utf8") })),
    );
  }
  // Refuse to write what importLuetTar would refuse to read.
  const tooBig = files.find((f) => f.body.length > MAX_LUET_ENTRY_BYTES);
  if (tooBig) throw new ValidationError(`cannot export: ${tooBig.name} would be larger than 1 MiB`);
  if (files.length > MAX_LUET_ENTRIES) throw new ValidationError(`cannot export: the tree would have more than ${MAX_LUET_ENTRIES} files`);
  return files;
}

function yamlText(value: unknown): string {
  const doc = new Document(value, { version: "1.2" });
  return doc.toString({ lineWidth: 0 });
}

function splitId(id: string): { category: string; name: string } {
  const [category, name] = id.split("/");
  return { category, name };
}

/**
 * Reads a tar made by exportLuetTar (or by hand in the same layout) back into a validated Manifest.
 * Throws ValidationError whose `details.errors` is a LuetIssue[] naming the file and field of each problem.
 */
export async function importLuetTar(buffer: Buffer | Uint8Array): Promise<Manifest> {
  const { files, issues } = await readTar(buffer);
  if (issues.length) throw invalid(issues);
  return assemble(files);
}

function invalid(issues: LuetIssue[]): ValidationError {
  const summary = issues.slice(0, 5).map((i) => `${i.file}${i.path ? ` ${i.path}` : ""}: ${i.message}`).join("; ");
  const more = issues.length > 5 ? ` (and ${issues.length - 5} more)` : "";
  return new ValidationError(`the luet tree is invalid: ${summary}${more}`, { errors: issues });
}

/** Safe entry name or the reason it is refused. Directory entries may end in "/". */
export function normaliseEntryName(raw: string): { name: string } | { error: string } {
  if (raw.includes("\0")) return { error: "entry name contains NUL" };
  if (raw.startsWith("/")) return { error: "absolute paths are not allowed" };
  if (raw.includes("\\")) return { error: "backslashes are not allowed in entry names" };
  const parts = raw.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) return { error: "'..' is not allowed in entry names" };
  // "" is the archive root ("./"), fine for a directory entry only.
  return { name: parts.join("/") };
}

async function readTar(buffer: Buffer | Uint8Array): Promise<{ files: Map<string, Buffer>; issues: LuetIssue[] }> {
  const files = new Map<string, Buffer>();
  const issues: LuetIssue[] = [];
  const extract = tar.extract();
  let count = 0;
  extract.end(Buffer.from(buffer));
  try {
    for await (const entry of extract) {
      const header = entry.header;
      count++;
      const problem = entryProblem(header, count);
      const normalised = normaliseEntryName(header.name);
      if (problem || "error" in normalised) {
        entry.resume();
        issues.push({ file: header.name, path: "", message: problem ?? (normalised as { error: string }).error });
        if (count > MAX_LUET_ENTRIES) break;
        continue;
      }
      const body = await readEntry(entry);
      if (header.type === "directory") continue;
      if (!normalised.name) {
        issues.push({ file: header.name, path: "", message: "a file entry needs a name" });
        continue;
      }
      if (files.has(normalised.name)) issues.push({ file: normalised.name, path: "", message: "the archive holds this file twice" });
      files.set(normalised.name, body);
    }
  } catch (err) {
    issues.push({ file: "", path: "", message: `not a readable tar archive: ${(err as Error).message}` });
  }
  if (count === 0 && issues.length === 0) issues.push({ file: "", path: "", message: "the archive is empty" });
  return { files, issues };
}

function entryProblem(header: tar.Header, count: number): string | undefined {
  if (count > MAX_LUET_ENTRIES) return `the archive has more than ${MAX_LUET_ENTRIES} entries`;
  if (header.type === "symlink" || header.type === "link") return "links are not allowed";
  if (header.type !== "file" && header.type !== "contiguous-file" && header.type !== "directory") {
    return `entries of type ${header.type ?? "unknown"} are not allowed`;
  }
  if ((header.size ?? 0) > MAX_LUET_ENTRY_BYTES) return "entry is larger than 1 MiB";
  return undefined;
}

async function readEntry(entry: AsyncIterable<unknown> & { header: tar.Header }): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const raw of entry) {
    const chunk = raw as Uint8Array;
    size += chunk.length;
    // The header size was checked; this guards a lying header.
    if (size > MAX_LUET_ENTRY_BYTES) throw new Error(`${entry.header.name} is larger than 1 MiB`);
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function decode(file: string, body: Buffer, issues: LuetIssue[]): string | undefined {
  try {
    return utf8.decode(body);
  } catch {
    issues.push({ file, path: "", message: "not valid UTF-8 text" });
    return undefined;
  }
}

/** Parses one YAML entry of the tree; issues are recorded with the file name. */
function readYaml<S extends z.ZodType>(
  files: Map<string, Buffer>,
  file: string,
  schema: S,
  issues: LuetIssue[],
): { value: z.output<S>; source: YamlSource } | undefined {
  const body = files.get(file);
  if (!body) return undefined;
  const text = decode(file, body, issues);
  if (text === undefined) return undefined;
  const parsed = parseYamlWithSchema(text, schema);
  if (!parsed.ok) {
    issues.push(...parsed.errors.map((e) => ({ file, path: e.path, message: e.message, line: e.line, column: e.column })));
    return undefined;
  }
  return { value: parsed.value, source: parsed.source };
}

interface PackageSources {
  id: string;
  definition?: { value: z.output<typeof LuetDefinitionSchema>; source: YamlSource };
  build?: { value: z.output<typeof LuetBuildSchema>; source: YamlSource };
  /** Where each package field came from, to place schema and order errors. */
  origin: (field: string | number | undefined) => { file: string; source?: YamlSource };
}

function assemble(files: Map<string, Buffer>): Manifest {
  const issues: LuetIssue[] = [];
  if (!files.has("manifest.yaml")) throw invalid([{ file: "manifest.yaml", path: "", message: "missing: the tree needs manifest.yaml at its root" }]);
  const head = readYaml(files, "manifest.yaml", LuetManifestSchema, issues);
  if (!head) throw invalid(issues);

  const listed = new Set(head.value.packages);
  const used = new Set(["manifest.yaml"]);
  const packages: PackageDefinitionInput[] = [];
  const sources: PackageSources[] = [];

  head.value.packages.forEach((id, index) => {
    const pkg = readPackage(files, id, index, head.source, issues, used);
    sources.push(pkg.sources);
    if (pkg.definition) packages.push(pkg.definition);
  });
  for (const name of files.keys()) {
    if (used.has(name)) continue;
    const id = /^packages\/([^/]+\/[^/]+)\//.exec(name)?.[1];
    const message = id && !listed.has(id) ? `package ${id} is not listed in manifest.yaml packages` : "unexpected file in the tree";
    issues.push({ file: name, path: "", message });
  }
  if (issues.length) throw invalid(issues);

  const manifest = ManifestSchema.safeParse({ ...head.value, packages });
  if (!manifest.success) {
    throw invalid(manifest.error.issues.map((i) => placeIssue(sources, i.path as PathSegment[], i.message)));
  }
  const order = checkOrder(manifest.data.packages);
  if (order.length) throw invalid(order.map((e) => placeIssue(sources, ["packages", ...e.path], e.message)));
  return manifest.data;
}

function readPackage(
  files: Map<string, Buffer>,
  id: string,
  index: number,
  manifestSource: YamlSource,
  issues: LuetIssue[],
  used: Set<string>,
): { definition?: PackageDefinitionInput; sources: PackageSources } {
  const definitionFile = `${packageDir(id)}/definition.yaml`;
  const buildFile = `${packageDir(id)}/build.yaml`;
  const overlayPrefix = overlayEntry(id, "/");
  const overlayFiles = [...files.keys()].filter((name) => name.startsWith(overlayPrefix));
  // Claimed here whatever build.yaml says, so a broken build.yaml is not also reported as stray files.
  used.add(definitionFile).add(buildFile);
  overlayFiles.forEach((name) => used.add(name));
  const sources: PackageSources = {
    id,
    origin: (field) =>
      field === "steps" || field === "files" || field === "includes" || field === "excludes"
        ? { file: buildFile, source: sources.build?.source }
        : { file: definitionFile, source: sources.definition?.source },
  };
  if (!files.has(definitionFile)) {
    issues.push({ file: definitionFile, path: "", message: `missing: manifest.yaml lists ${id}`, ...locate(manifestSource, ["packages", index]) });
    return { sources };
  }
  sources.definition = readYaml(files, definitionFile, LuetDefinitionSchema, issues);
  // build.yaml is optional: a package without steps or files (a pure marker) needs none.
  sources.build = files.has(buildFile) ? readYaml(files, buildFile, LuetBuildSchema, issues) : { value: LuetBuildSchema.parse({}), source: emptySource() };
  const def = sources.definition?.value;
  const build = sources.build?.value;
  if (!def || !build) return { sources };

  if (packageId(def) !== id) {
    issues.push({ file: definitionFile, path: "name", message: `category/name is ${packageId(def)} but the folder is ${packageDir(id)}`, ...locate(sources.definition!.source, ["name"]) });
  }
  const listedOverlay = new Set(build.files.map((f) => overlayEntry(id, f.path)));
  for (const name of overlayFiles) {
    if (!listedOverlay.has(name)) issues.push({ file: name, path: "", message: "overlay file not listed in build.yaml files" });
  }
  const overlay = build.files.map((f, i) => {
    const entry = overlayEntry(id, f.path);
    const body = files.get(entry);
    if (!body) {
      issues.push({ file: buildFile, path: formatPath(["files", i, "path"]), message: `missing overlay content ${entry}`, ...locate(sources.build!.source, ["files", i, "path"]) });
      return { ...f, content: "" };
    }
    return { ...f, content: decode(entry, body, issues) ?? "" };
  });
  return {
    sources,
    definition: {
      category: def.category,
      name: def.name,
      version: def.version,
      description: def.description,
      requires: def.requires.map(packageId),
      steps: build.steps,
      files: overlay,
      includes: build.includes,
      excludes: build.excludes,
    },
  };
}

function emptySource(): YamlSource {
  const parsed = parseYamlWithSchema("{}", z.object({}));
  if (!parsed.ok) throw new Error("unreachable: '{}' is valid YAML");
  return parsed.source;
}

/** Maps a ManifestSchema path (`packages.3.files.0.mode`) to the file and field it came from. */
function placeIssue(sources: PackageSources[], path: PathSegment[], message: string): LuetIssue {
  if (path[0] !== "packages" || typeof path[1] !== "number" || !sources[path[1]]) {
    return { file: "manifest.yaml", path: formatPath(path), message };
  }
  const pkg = sources[path[1]];
  const field = path.slice(2);
  const { file, source } = pkg.origin(field[0]);
  // Overlay contents live in their own entry; point there.
  if (field[0] === "files" && typeof field[1] === "number" && field[2] === "content") {
    const overlayPath = pkg.build?.value.files[field[1]]?.path ?? "";
    return { file: overlayEntry(pkg.id, overlayPath), path: "", message };
  }
  // definition.yaml holds requires as [{category, name}]; the index carries over.
  return { file, path: formatPath(field), message, ...(source ? locate(source, field) : {}) };
}
