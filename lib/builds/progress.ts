// How far a build has got, weighted by what each package is expected to take, and the time left. Pure, so the live
// build page can recompute it every second from the last snapshot without asking the server.
import type { BuildPackageStatus, BuildPhase, BuildStatus } from "../db/schema/builds";

/** Assumed for a package with no history when no package of the build has any. */
export const UNKNOWN_PACKAGE_MS = 30_000;
/** A package whose cache key is built already is only looked up and reused: it weighs next to nothing. */
export const CACHED_PACKAGE_MS = 1_000;

export interface ProgressPackage {
  status: BuildPackageStatus;
  /** build_packages.expected_ms: 0 when the cache key is built already, null when unknown. */
  expectedMs: number | null;
  startedAt: string | Date | null;
}

export interface ProgressBuild {
  status: BuildStatus;
  phase: BuildPhase | null;
  packages: readonly ProgressPackage[];
}

export interface BuildProgress {
  /** Share of the expected package work done, 0..1. */
  fraction: number;
  /** Packages finished, built or reused. */
  done: number;
  total: number;
  /**
   * Expected time left for the packages. Null when there is nothing to estimate: the build is not running, or it is
   * publishing (how long a push takes is not known ahead).
   */
  remainingMs: number | null;
  /** The running package has taken longer than it was expected to. */
  overrun: boolean;
}

/** What each package weighs: its expected time; unknown ones the mean of the known non-zero ones (or UNKNOWN_PACKAGE_MS); cached ones CACHED_PACKAGE_MS. */
export function packageWeights(packages: readonly Pick<ProgressPackage, "expectedMs">[]): number[] {
  const known = packages.map((p) => p.expectedMs).filter((ms): ms is number => ms !== null && ms > 0);
  const unknown = known.length > 0 ? known.reduce((sum, ms) => sum + ms, 0) / known.length : UNKNOWN_PACKAGE_MS;
  return packages.map((p) => (p.expectedMs === null || p.expectedMs < 0 ? unknown : p.expectedMs === 0 ? CACHED_PACKAGE_MS : p.expectedMs));
}

/**
 * `now` is the clock to measure the running package against; null (before the page has a clock, so the server and
 * the browser render alike) counts no time spent in it yet.
 */
export function buildProgress(build: ProgressBuild, now: number | null): BuildProgress {
  const weights = packageWeights(build.packages);
  let total = 0;
  let doneWeight = 0;
  let leftMs = 0;
  let done = 0;
  let overrun = false;
  build.packages.forEach((p, i) => {
    const weight = weights[i];
    total += weight;
    if (p.status === "built" || p.status === "cached") {
      doneWeight += weight;
      done++;
    } else if (p.status === "running") {
      const spent = now !== null && p.startedAt ? Math.max(0, now - new Date(p.startedAt).getTime()) : 0;
      // A package past its expected time has used up its share; the bar waits for it rather than run ahead.
      doneWeight += Math.min(spent, weight);
      leftMs += Math.max(weight - spent, 0);
      overrun ||= spent > weight;
    } else if (p.status === "pending") {
      leftMs += weight;
    }
  });
  const estimating = build.status === "running" && build.phase !== "publishing";
  return {
    fraction: build.status === "succeeded" ? 1 : total > 0 ? doneWeight / total : 0,
    done,
    total: build.packages.length,
    remainingMs: estimating ? leftMs : null,
    overrun: estimating && overrun,
  };
}

/** "about 2 min left", rounded the way a person would say it. */
export function formatTimeLeft(ms: number): string {
  if (ms < 10_000) return "a few seconds left";
  if (ms < 60_000) return "less than a minute left";
  const minutes = Math.round(ms / 60_000);
  if (minutes < 60) return `about ${minutes} min left`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m === 0 ? `about ${h} h left` : `about ${h} h ${m} min left`;
}

/** What the page says about the time left, or null when it cannot say anything useful. */
export function describeTimeLeft(progress: BuildProgress): string | null {
  if (progress.remainingMs === null) return null;
  // Counting down to "a few seconds" while a package overruns would be wrong for as long as it overruns.
  if (progress.overrun && progress.remainingMs < 60_000) return "taking longer than expected";
  return formatTimeLeft(progress.remainingMs);
}

/** "Publishing — verifying the pushed image"; null while building packages (the package line says more) or when final. */
export function describePhase(phase: BuildPhase | null, detail: string | null): string | null {
  if (phase === null || phase === "building") return null;
  const name = phase === "preparing" ? "Preparing" : "Publishing";
  return detail?.trim() ? `${name} — ${detail.trim()}` : name;
}
