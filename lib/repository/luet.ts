// A repository revision as the luet package manager reads it: repository.yaml and one metadata.yaml per package.
//
// The shapes follow luet's source (github.com/mudler/luet, read at 3f2397b) and files luet itself generated
// (github.com/Luet-lab/luet-repo: repository.yaml, luet-system-0.36.4.metadata.yaml):
// - repository.yaml is LuetSystemRepository marshalled by ghodss/yaml, i.e. through its `json:` tags
//   (pkg/installer/repository.go, pkg/api/core/types/repository.go): name, description, urls, type, revision,
//   last_update (unix seconds as a string), repo_files.{tree,meta,compilertree}.{filename,compressiontype,checksums}.
//   A client refuses a repository.yaml without the `tree` and `meta` entries.
// - <name>-<category>-<version>.metadata.yaml is PackageArtifact marshalled by gopkg.in/yaml.v3, which ignores
//   `json:` tags and lower-cases Go field names (pkg/api/core/types/artifact/artifact.go): hence `compilespec` (not the
//   index's `compilationspec`), `packagerequires` (not `requires`) and `files` without a leading "/".
import { Document, isScalar, visit } from "yaml";
import { ValidationError } from "../errors";
import { packageKey, type ArtefactCompression, type IndexPackage, type RepositoryIndex } from "./types";

/** luet's defaults for the two files every repository.yaml must name (NewDefaultTreeRepositoryFile, NewDefaultMetaRepositoryFile). */
export const LUET_TREE_FILE = { filename: "tree.tar.gz", compressiontype: "gzip" } as const;
export const LUET_META_FILE = { filename: "repository.meta.yaml.tar", compressiontype: "none" } as const;

/** luet appends the compressor's extension to `<fingerprint>.package.tar` (PackageArtifact.getCompressedName). */
const COMPRESSED_EXTENSION: Record<ArtefactCompression, string> = { zstd: ".zst", gzip: ".gz" };

export interface LuetRepositoryOptions {
  /** Where the repository is served; luet's `urls`. */
  baseUrl?: string;
  /** sha256 (hex) of the tree and meta files, when whoever serves them has them; luet verifies what is given. */
  checksums?: { tree?: string; meta?: string };
}

/**
 * repository.yaml of a revision. luet has no slot for packages here (they live in the meta file), so they are listed
 * under the `strata` key, which luet ignores: encoding/json drops unknown keys.
 */
export function luetRepositoryYaml(index: RepositoryIndex, opts: LuetRepositoryOptions = {}): string {
  const seconds = Date.parse(index.createdAt);
  if (Number.isNaN(seconds)) throw new ValidationError(`the index's createdAt is not a date: ${index.createdAt}`);
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
    last_update: String(Math.floor(seconds / 1000)),
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
export function luetPackageMetadataYaml(index: RepositoryIndex, pkg: IndexPackage, files: string[]): string {
  const pkgYaml = luetPackage(index, pkg);
  return luetYaml({
    path: luetArtefactFileName(pkg),
    // Artefacts of dependencies bundled into this one; a Strata artefact holds only its own layer.
    dependencies: [],
    compilespec: {
      steps: pkg.definition.steps,
      package: pkgYaml,
      includes: pkg.definition.includes,
      excludes: pkg.definition.excludes,
    },
    checksums: { sha256: sha256Hex(pkg) },
    compressiontype: pkg.artefact.compression,
    files: files.map((path) => path.replace(/^\/+/, "")),
    // luet fills `runtime` from the package's definition.yaml; Strata's definition is the same package.
    runtime: pkgYaml,
  });
}

/**
 * luet's artefact name: the package fingerprint `<name>-<category>-<version>` + ".package.tar" + the compressor's
 * extension. Versions are free text: characters a file name cannot hold (a "/") become "_".
 */
export function luetArtefactFileName(pkg: Pick<IndexPackage, "name" | "category" | "version"> & { artefact: Pick<IndexPackage["artefact"], "compression"> }): string {
  const version = pkg.version.replace(/[^A-Za-z0-9.+~:_-]/g, "_");
  return `${pkg.name}-${pkg.category}-${version}.package.tar${COMPRESSED_EXTENSION[pkg.artefact.compression]}`;
}

function luetPackage(index: RepositoryIndex, pkg: IndexPackage) {
  return {
    name: pkg.name,
    version: pkg.version,
    category: pkg.category,
    description: pkg.description,
    // A layer is the difference to the exact layers below it, so a requirement names the version in this revision.
    // A bare version is luet's "exactly this one", and it also matches versions luet cannot parse (">=0" would not).
    packagerequires: pkg.requires.map((id) => {
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
