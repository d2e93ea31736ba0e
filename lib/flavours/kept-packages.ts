// Which base packages a revision keeps (the base minus what it leaves out), and why a set of left-out packages does not work.
// Pure and client-safe: the server validates with it and the editor explains a refusal before anything is sent.
import { essentialReason } from "../manifest/essential";
import { packageId } from "../manifest/schema";

type Named = { category: string; name: string };
type WithRequires = Named & { requires: readonly string[] };

/** The base packages a revision builds, in base order: every one except those it leaves out. */
export function keptBasePackages<P extends Named>(base: readonly P[], excluded: readonly string[]): P[] {
  if (excluded.length === 0) return [...base];
  const out = new Set(excluded);
  return base.filter((p) => !out.has(packageId(p)));
}

/** What a build of the revision installs, in order: the kept base packages, then the layers. */
export function revisionPackages<P extends Named>(base: readonly P[], revision: { layers: readonly P[]; excludedPackages: readonly string[] }): P[] {
  return [...keptBasePackages(base, revision.excludedPackages), ...revision.layers];
}

export interface ExclusionIssue {
  /** `excludedPackages[i]` (index into the list as given) or `layers[i].requires[j]`. */
  path: string;
  /** The left-out package the issue is about. */
  package: string;
  message: string;
}

const list = (ids: string[]) => (ids.length <= 1 ? ids.join("") : `${ids.slice(0, -1).join(", ")} and ${ids[ids.length - 1]}`);

/** What to do when `id` is required by kept base packages and/or layers. */
function requiredByMessage(id: string, baseDependents: string[], layerDependents: string[]): string {
  const fixes: string[] = [];
  if (baseDependents.length && !layerDependents.length) fixes.push(`leave ${baseDependents.length === 1 ? "that" : "those"} out too`);
  else if (baseDependents.length) fixes.push(`leave out ${list(baseDependents)}`);
  if (layerDependents.length)
    fixes.push(
      baseDependents.length
        ? `remove it from the requires of ${list(layerDependents)}`
        : `remove it from the requires of ${layerDependents.length === 1 ? "that layer" : "those layers"}`,
    );
  return `${id} is required by ${list([...baseDependents, ...layerDependents])}; ${fixes.join(" and ")} or keep ${id}`;
}

/**
 * Every reason the left-out packages do not work: not a package of the base, essential to the platform, or still
 * required by a package that is kept (a base package or a layer). Empty when the choice is fine.
 */
export function exclusionProblems(base: readonly WithRequires[], layers: readonly WithRequires[], excluded: readonly string[], baseLabel = "the base manifest"): ExclusionIssue[] {
  const baseIds = new Set(base.map(packageId));
  const out = new Set(excluded);
  const kept = base.filter((p) => !out.has(packageId(p)));
  const issues: ExclusionIssue[] = [];
  const seen = new Set<string>();
  excluded.forEach((id, i) => {
    const path = `excludedPackages[${i}]`;
    if (seen.has(id)) return;
    seen.add(id);
    if (!baseIds.has(id)) {
      issues.push({ path, package: id, message: `${id} is not a package of ${baseLabel}; only base packages can be left out` });
      return;
    }
    const reason = essentialReason(id);
    if (reason) {
      issues.push({ path, package: id, message: `${id} cannot be left out: ${reason}` });
      return;
    }
    const baseDependents = kept.filter((p) => p.requires.includes(id)).map(packageId);
    const layerDependents = layers.filter((l) => l.requires.includes(id)).map(packageId);
    if (baseDependents.length || layerDependents.length) issues.push({ path, package: id, message: requiredByMessage(id, baseDependents, layerDependents) });
  });
  // Also on the layer itself, so an editor can mark the layer that needs the package.
  layers.forEach((layer, i) =>
    layer.requires.forEach((req, j) => {
      if (out.has(req) && baseIds.has(req) && !essentialReason(req))
        issues.push({ path: `layers[${i}].requires[${j}]`, package: req, message: `${packageId(layer)} requires ${req}, which this flavour leaves out; keep ${req} or remove it from requires` });
    }),
  );
  return issues;
}

/** The left-out packages without repeats, in base order (so two equal choices are stored alike). */
export function normaliseExclusions(base: readonly Named[], excluded: readonly string[]): string[] {
  const out = new Set(excluded);
  return base.map(packageId).filter((id) => out.has(id));
}
