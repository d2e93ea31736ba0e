// The base manifests shipped in the repo (lib/manifest/base/*.yaml), loaded and checked before anything builds on them.
import { existsSync } from "node:fs";
import { readFile, readdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseManifestYaml } from "./parse";
import type { Manifest } from "./schema";

export class InvalidBaseManifestError extends Error {
  constructor(readonly file: string, readonly problems: string[]) {
    super(`bundled base manifest ${file} is invalid:\n  ${problems.join("\n  ")}`);
    this.name = "InvalidBaseManifestError";
  }
}

/**
 * Where the YAML files are. Beside this module when it runs from source (tsx, vitest); from the working
 * directory when a bundler moved the code (Next's server build); STRATA_BASE_MANIFEST_DIR overrides both.
 */
export function bundledBaseManifestDir(): string {
  if (process.env.STRATA_BASE_MANIFEST_DIR) return process.env.STRATA_BASE_MANIFEST_DIR;
  try {
    const beside = fileURLToPath(new URL("./base/", import.meta.url));
    if (existsSync(beside)) return beside;
  } catch {
    // import.meta.url is not a file: URL in some bundles; fall through.
  }
  return path.resolve(process.cwd(), "lib/manifest/base");
}

/**
 * Reads, validates and order-checks every `*.yaml` / `*.yml` in the folder, ordered by version (numeric
 * where possible). Throws InvalidBaseManifestError naming the file, line and field: a broken base manifest
 * is a bug in the repo, not something to build around.
 */
export async function loadBundledBaseManifests(dir: string = bundledBaseManifestDir()): Promise<Manifest[]> {
  const names = (await readdir(dir)).filter((n) => /\.ya?ml$/.test(n)).sort();
  if (names.length === 0) throw new Error(`no base manifest (*.yaml) in ${dir}`);
  const manifests = await Promise.all(names.map(async (name) => ({ name, manifest: loadOne(name, await readFile(path.join(dir, name), "utf8")) })));
  const seen = new Map<string, string>();
  for (const { name, manifest } of manifests) {
    const key = `${manifest.name}@${manifest.version}`;
    if (seen.has(key)) throw new InvalidBaseManifestError(name, [`${key} is also defined in ${seen.get(key)}`]);
    seen.set(key, name);
  }
  return manifests.map((m) => m.manifest).sort(byVersion);
}

/** The newest bundled base manifest of a name (default strata-base). */
export async function latestBundledBaseManifest(name = "strata-base", dir?: string): Promise<Manifest> {
  const all = (await loadBundledBaseManifests(dir)).filter((m) => m.name === name);
  if (all.length === 0) throw new Error(`no bundled base manifest named ${name}`);
  return all[all.length - 1];
}

function loadOne(file: string, text: string): Manifest {
  const result = parseManifestYaml(text);
  if (result.ok) return result.value;
  throw new InvalidBaseManifestError(
    file,
    result.errors.map((e) => `${e.line ? `line ${e.line}: ` : ""}${e.path ? `${e.path}: ` : ""}${e.message}`),
  );
}

function byVersion(a: Manifest, b: Manifest): number {
  return a.name.localeCompare(b.name) || a.version.localeCompare(b.version, "en", { numeric: true });
}
