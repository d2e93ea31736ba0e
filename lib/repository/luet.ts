// A repository revision as the luet package manager reads it: repository.yaml, the tree and meta files it names, the
// artefacts by luet's file names, and one metadata.yaml per package.
//
// The shapes follow luet's source (github.com/mudler/luet, read at 3f2397b) and files luet itself generated
// (github.com/Luet-lab/luet-repo: repository.yaml, luet-system-0.36.4.metadata.yaml):
// - repository.yaml is LuetSystemRepository marshalled by ghodss/yaml, i.e. through its `json:` tags
//   (pkg/installer/repository.go, pkg/api/core/types/repository.go): name, description, urls, type, revision,
//   last_update (unix seconds as a string), repo_files.{tree,meta,compilertree}.{filename,compressiontype,checksums}.
//   A client refuses a repository.yaml without the `tree` and `meta` entries.
// - `luet repo update` (LuetSystemRepository.Sync, pkg/installer/repository.go) then fetches <url>/tree.tar.gz and
//   <url>/repository.meta.yaml.tar, checks each against the sha256 listed for it (when one is), unpacks both
//   (containerd's archive.Apply after sniffing the compression) and loads the tree with tree.NewInstallerRecipe(…).Load
//   (pkg/tree/installer_recipe.go, package.go): every `definition.yaml` below it is one package, read through JSON tags
//   (types.PackageFromYaml), and luet writes them at <category>/<name>/<version>/definition.yaml (InstallerRecipe.Save).
//   The meta tar holds repository.meta.yaml: LuetSystemRepositoryMetadata `{index: [PackageArtifact…]}` through
//   ghodss/yaml, so JSON tags again: `compilationspec`, and `requires` in packages.
// - An install fetches <url>/<base name of the artifact's path> (pkg/installer/client/http.go DownloadArtifact uses
//   path.Base), so artefacts are served at the repository's root under luet's file name, never in a subfolder.
// - <name>-<category>-<version>.metadata.yaml is PackageArtifact marshalled by gopkg.in/yaml.v3, which ignores
//   `json:` tags and lower-cases Go field names (pkg/api/core/types/artifact/artifact.go): hence `compilespec` (not the
//   index's `compilationspec`), `packagerequires` (not `requires`) and `files` without a leading "/".
import { gzipSync } from "node:zlib";
import tar from "tar-stream";
import { Document, isScalar, visit } from "yaml";
import { ValidationError } from "../errors";
import { packageKey, type ArtefactCompression, type IndexPackage, type RepositoryIndex } from "./types";

/** luet's defaults for the two files every repository.yaml must name (NewDefaultTreeRepositoryFile, NewDefaultMetaRepositoryFile). */
export const LUET_TREE_FILE = { filename: "tree.tar.gz", compressiontype: "gzip" } as const;
export const LUET_META_FILE = { filename: "repository.meta.yaml.tar", compressiontype: "none" } as const;

/** luet appends the compressor's extension to `<fingerprint>.package.tar` (PackageArtifact.getCompressedName). */
const COMPRESSED_EXTENSION: Record<ArtefactCompression, string> = { zstd: ".zst", gzip: ".gz" };

export interface LuetRepositoryOptions {
  /**
   * Where the repository is served; luet's `urls`. For people and tools reading the file: a luet client fetches from
   * the URLs in its own repository config, which replace these once the file is read (Sync's `fill`).
   */
  baseUrl?: string;
  /** sha256 (hex) of the tree and meta files, when whoever serves them has them; luet verifies what is given. */
  checksums?: { tree?: string; meta?: string };
}

/**
 * repository.yaml of a revision. luet has no slot for packages here (they live in the meta file), so they are listed
 * under the `strata` key, which luet ignores: encoding/json drops unknown keys.
 */
export function luetRepositoryYaml(index: RepositoryIndex, opts: LuetRepositoryOptions = {}): string {
  const created = createdAt(index);
  const repoFile = (defaults: typeof LUET_TREE_FILE | typeof LUET_META_FILE, sha256: string | undefined) => ({
    ...defaults,
    ...(sha256 ? { checksums: { sha256 } } : {}),
  });
  return luetYaml({
    name: `${index.org}-${index.flavour}`,
    description: `Strata repository of ${index.org}/${index.flavour}, revision ${index.revision} (build ${index.build.version})`,
    type: "http",
    urls: opts.baseUrl ? [opts.baseUrl] : [],
    revision: index.revision,
    last_update: String(created.getTime() / 1000),
    // luet refuses a repository.yaml without these two; whoever serves the repository serves them under these names.
    repo_files: {
      tree: repoFile(LUET_TREE_FILE, opts.checksums?.tree),
      meta: repoFile(LUET_META_FILE, opts.checksums?.meta),
    },
    strata: {
      org: index.org,
      flavour: index.flavour,
      base_manifest: index.baseManifest,
      build: { id: index.build.id, version: index.build.version },
      image: { reference: index.build.image.reference, digest: index.build.image.digest },
      // Build order: a package only requires packages listed before it.
      packages: index.packages.map((pkg) => ({
        category: pkg.category,
        name: pkg.name,
        version: pkg.version,
        path: luetArtefactFileName(pkg),
        compressiontype: pkg.artefact.compression,
        checksums: { sha256: sha256Hex(pkg) },
        size: pkg.artefact.size,
      })),
    },
  });
}

/**
 * `<name>-<category>-<version>.metadata.yaml` of one package of `index`. `files` are the paths of the artefact's
 * non-directory entries (luet lists no directories); a leading "/" is dropped, as luet lists tar member names.
 */
export function luetPackageMetadataYaml(index: RepositoryIndex, pkg: IndexPackage, files: readonly string[]): string {
  return luetYaml(luetArtifact(index, pkg, files, "yaml.v3"));
}

/** The one file inside the meta tar; luet opens it by this name once the tar is unpacked (REPOSITORY_METAFILE). */
export const LUET_META_ENTRY = "repository.meta.yaml";

/**
 * `tree.tar.gz`: the runtime tree, one `<category>/<name>/<version>/definition.yaml` per package (name, version,
 * category, description, requires), as InstallerRecipe.Save lays it out, with a directory entry above each file as
 * luet's own archives have. Sorted entries, fixed owners and modes and the revision's creation time as mtime: a
 * revision always packs to the same bytes (the gzip stream is Node's zlib, stable for one Node build). Async only
 * because tar-stream packs into a stream.
 */
export async function luetTreeTar(index: RepositoryIndex): Promise<Buffer> {
  const files = index.packages.map((pkg) => ({
    // luet reads the version from the file; the folder is only a place, so a version no folder can be named is made safe.
    name: `${pkg.category}/${pkg.name}/${versionFolder(pkg.version)}/definition.yaml`,
    body: Buffer.from(luetYaml(luetPackage(index, pkg, "requires"))),
  }));
  const folders = new Set(files.flatMap(({ name }) => name.split("/").slice(0, -1).map((_, i, parts) => `${parts.slice(0, i + 1).join("/")}/`)));
  const entries = [...[...folders].map((name) => ({ name })), ...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return gzipSync(await packTar(entries, createdAt(index)), { level: 9 });
}

/**
 * `repository.meta.yaml.tar`: an uncompressed tar of `repository.meta.yaml`, luet's artifact index — one artifact per
 * package in build order with its path (the file name an install fetches), sha256, compression, compile spec, runtime
 * package and files. `filesByDigest` maps an artefact digest to its paths without directories (luet lists none; a
 * digest not in the map lists no files); they are sorted here, so the bytes do not depend on the order they came in.
 */
export async function luetMetaTar(index: RepositoryIndex, filesByDigest: ReadonlyMap<string, readonly string[]>): Promise<Buffer> {
  const artifacts = index.packages.map((pkg) => luetArtifact(index, pkg, [...(filesByDigest.get(pkg.artefact.digest) ?? [])].sort(), "json"));
  return packTar([{ name: LUET_META_ENTRY, body: Buffer.from(luetYaml({ index: artifacts })) }], createdAt(index));
}

/**
 * The package of `index` whose artefact luet fetches as `fileName` (the last segment of its URL), or undefined; a name
 * with a "/", "\" or ".." never is one. Two packages can share a luet name (`a-b` in `c`, `a` in `b-c`): luet cannot
 * tell them apart either, and the first in build order is the one served.
 */
export function luetArtefactByFileName(index: RepositoryIndex, fileName: string): IndexPackage | undefined {
  if (!fileName || /[/\\\0]/.test(fileName) || fileName.includes("..")) return undefined;
  return index.packages.find((pkg) => luetArtefactFileName(pkg) === fileName);
}

/**
 * luet's artefact name: the package fingerprint `<name>-<category>-<version>` + ".package.tar" + the compressor's
 * extension. Versions are free text: characters a file name cannot hold (a "/") become "_".
 */
export function luetArtefactFileName(pkg: Pick<IndexPackage, "name" | "category" | "version"> & { artefact: Pick<IndexPackage["artefact"], "compression"> }): string {
  const version = pkg.version.replace(/[^A-Za-z0-9.+~:_-]/g, "_");
  return `${pkg.name}-${pkg.category}-${version}.package.tar${COMPRESSED_EXTENSION[pkg.artefact.compression]}`;
}

/**
 * Two readers spell one Go struct two ways: ghodss/yaml through its `json:` tags (the meta index, the tree),
 * gopkg.in/yaml.v3 by the lower-cased field names (metadata.yaml files).
 */
type LuetSpelling = "json" | "yaml.v3";

/** luet's PackageArtifact (pkg/api/core/types/artifact/artifact.go) of one package. */
function luetArtifact(index: RepositoryIndex, pkg: IndexPackage, files: readonly string[], spelling: LuetSpelling) {
  const luetPkg = luetPackage(index, pkg, spelling === "json" ? "requires" : "packagerequires");
  return {
    path: luetArtefactFileName(pkg),
    // Artefacts of dependencies bundled into this one; a Strata artefact holds only its own layer.
    dependencies: [],
    [spelling === "json" ? "compilationspec" : "compilespec"]: {
      steps: pkg.definition.steps,
      package: luetPkg,
      includes: pkg.definition.includes,
      excludes: pkg.definition.excludes,
    },
    checksums: { sha256: sha256Hex(pkg) },
    compressiontype: pkg.artefact.compression,
    files: files.map((path) => path.replace(/^\/+/, "")),
    // luet fills `runtime` from the package's definition.yaml; Strata's definition is the same package.
    runtime: luetPkg,
  };
}

/** luet's types.Package: PackageRequires is `requires` by its JSON tag and `packagerequires` to yaml.v3. */
function luetPackage(index: RepositoryIndex, pkg: IndexPackage, requiresKey: "requires" | "packagerequires") {
  return {
    name: pkg.name,
    version: pkg.version,
    category: pkg.category,
    description: pkg.description,
    // A layer is the difference to the exact layers below it, so a requirement names the version in this revision.
    // A bare version is luet's "exactly this one", and it also matches versions luet cannot parse (">=0" would not).
    [requiresKey]: pkg.requires.map((id) => {
      const required = index.packages.find((p) => packageKey(p) === id);
      if (!required) throw new ValidationError(`${packageKey(pkg)} requires ${id}, which is not in revision ${index.revision}`);
      return { name: required.name, category: required.category, version: required.version };
    }),
  };
}

function sha256Hex(pkg: IndexPackage): string {
  const match = /^sha256:([0-9a-f]{64})$/.exec(pkg.artefact.digest);
  if (!match) throw new ValidationError(`${packageKey(pkg)}: the artefact digest is not sha256:<hex>: ${pkg.artefact.digest}`);
  return match[1];
}

/** The index's creation time to the second: what last_update and tar headers can hold. */
function createdAt(index: RepositoryIndex): Date {
  const ms = Date.parse(index.createdAt);
  if (Number.isNaN(ms)) throw new ValidationError(`the index's createdAt is not a date: ${index.createdAt}`);
  return new Date(Math.floor(ms / 1000) * 1000);
}

/** A version as one path segment: the characters luetArtefactFileName keeps, and never "." or "..". */
function versionFolder(version: string): string {
  const safe = version.replace(/[^A-Za-z0-9.+~:_-]/g, "_");
  return /^\.+$/.test(safe) ? safe.replace(/\./g, "_") : safe;
}

/** A tar of files (with a body) and directories (without), in the order given, owned by root. */
async function packTar(entries: ReadonlyArray<{ name: string; body?: Buffer }>, mtime: Date): Promise<Buffer> {
  const pack = tar.pack();
  for (const { name, body } of entries) {
    const owner = { uid: 0, gid: 0, uname: "root", gname: "root" };
    if (body) pack.entry({ name, type: "file", mode: 0o644, mtime, ...owner }, body);
    else pack.entry({ name, type: "directory", mode: 0o755, mtime, ...owner });
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * YAML 1.1, because luet reads repository.yaml (and its meta index) with ghodss/yaml, i.e. yaml.v2: a plain `on` or
 * `yes` would come back as a boolean and fail to load into a string field. The 1.1 schema quotes those; the one string
 * it leaves plain that a YAML 1.2 reader (yaml.v3, our own tools) takes as a number is a 1.2 octal such as `0o17`.
 */
function luetYaml(value: unknown): string {
  // No anchors: `runtime` is the same package as `compilespec.package`, and each is written out in full, as luet does.
  const doc = new Document(value, { version: "1.1", aliasDuplicateObjects: false });
  visit(doc, {
    Scalar(_key, node) {
      if (isScalar(node) && typeof node.value === "string" && /^[-+]?0o[0-7]+$/.test(node.value)) node.type = "QUOTE_DOUBLE";
    },
  });
  // lineWidth 0: never fold; a folded step or description is harder to read and to diff.
  return doc.toString({ lineWidth: 0 });
}
