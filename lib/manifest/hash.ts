// Content identity of package definitions: canonical JSON, its digest, and the build cache key.
import { createHash } from "node:crypto";
import { ValidationError, describeZodIssues } from "../errors";
import { PackageDefinitionSchema, packageId, type PackageDefinition, type PackageDefinitionInput } from "./schema";

/** Env vars the builder injects into every build step (see lib/build). */
export const BUILD_ENV_VARS = ["STRATA_FLAVOUR", "STRATA_VERSION", "STRATA_BASE_VERSION"] as const;
export type BuildEnv = Partial<Record<(typeof BUILD_ENV_VARS)[number], string>> & Record<string, string>;

/**
 * JSON of the definition with schema defaults applied, keys sorted at every level, arrays in order and no
 * whitespace. Two definitions that mean the same (a missing `requires` vs `[]`, other key order) give the
 * same text, so they share a digest and a cache entry.
 */
export function canonicalJson(def: PackageDefinitionInput | PackageDefinition): string {
  return JSON.stringify(sortKeys(normalise(def)));
}

/** Hex sha256 of canonicalJson: the identity of a definition regardless of where it sits in a manifest. */
export function definitionDigest(def: PackageDefinitionInput | PackageDefinition): string {
  return sha256(canonicalJson(def));
}

/**
 * Cache key of a built package: hex sha256 of `parentKey + "\n" + canonicalJson(def)`, plus the build env part.
 *
 * `parentKey` is the cache key of the package before it (for the first package: the base image reference,
 * ideally by digest), so a key names the whole chain of layers below it, and a change low in the stack
 * rebuilds everything above it.
 *
 * The build env: the builder injects STRATA_FLAVOUR, STRATA_VERSION and STRATA_BASE_VERSION into every step.
 * A package whose steps or overlay file contents mention `STRATA_` can produce different output for
 * different values (e.g. /etc/os-release), so every `STRATA_*` var of `buildEnv` is appended to its key as
 * `"\n" + sorted JSON`. Packages that never mention `STRATA_` leave the env out of their key: the same
 * definition on the same parent then hits the same cache entry for every flavour and version, which is what
 * lets all flavours share the base stack. Other (non-`STRATA_`) vars are ignored: the builder must not inject
 * anything that changes a step's output without being part of the definition.
 * The check is textual: any `STRATA_`, even in a comment or a disk label, counts. That errs towards a
 * separate cache entry, never towards a shared one with the wrong contents (so the base manifest names its
 * state partition `strata-state`, not `STRATA_STATE`).
 */
export function cacheKey(parentKey: string, def: PackageDefinitionInput | PackageDefinition, buildEnv: BuildEnv = {}): string {
  if (!parentKey) throw new ValidationError("cacheKey needs the parent key (the base image reference for the first package)");
  const normalised = normalise(def);
  const envPart = usesBuildEnv(normalised) ? "\n" + JSON.stringify(sortKeys(strataVars(buildEnv))) : "";
  return sha256(`${parentKey}\n${JSON.stringify(sortKeys(normalised))}${envPart}`);
}

/** True when the package's output may depend on the STRATA_* build env (see cacheKey). */
export function usesBuildEnv(def: Pick<PackageDefinition, "steps" | "files">): boolean {
  return def.steps.some((s) => s.includes("STRATA_")) || def.files.some((f) => f.content.includes("STRATA_"));
}

function strataVars(env: BuildEnv): Record<string, string> {
  const vars: Record<string, string> = {};
  // The three known vars are always present (empty when unset) so "unset" and "set to ''" hash alike.
  for (const name of BUILD_ENV_VARS) vars[name] = env[name] ?? "";
  for (const [name, value] of Object.entries(env)) if (name.startsWith("STRATA_")) vars[name] = value;
  return vars;
}

function normalise(def: PackageDefinitionInput | PackageDefinition): PackageDefinition {
  const parsed = PackageDefinitionSchema.safeParse(def);
  if (!parsed.success) {
    const id = typeof def?.category === "string" && typeof def?.name === "string" ? packageId(def) : "package";
    throw new ValidationError(`${id}: ${describeZodIssues(parsed.error.issues)}`, { issues: parsed.error.issues });
  }
  return parsed.data;
}

/** Recursively sorts object keys (by UTF-16 code unit, like Array.prototype.sort) and drops undefined values. */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}

function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}
