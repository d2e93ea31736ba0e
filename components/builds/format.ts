// The build as the browser sees it (getBuild's JSON: dates are ISO strings) and the small formatters the build pages share.
import type { ArtefactChanges, BuildKind, BuildPackageStatus, BuildPhase, BuildStatus } from "@/lib/db/schema/builds";

export type { ArtefactChanges, BuildStatus, BuildPackageStatus, BuildPhase };

export interface ArtefactView {
  digest: string;
  size: number;
  uncompressedSize: number;
  fileCount: number;
  compression: string;
}

export interface BuildPackageView {
  position: number;
  packageId: string;
  version: string;
  fromBase: boolean;
  status: BuildPackageStatus;
  cached: boolean | null;
  step: number | null;
  steps: number | null;
  durationMs: number | null;
  /** 0 when the cache key is built already; null when unknown. */
  expectedMs: number | null;
  startedAt: string | null;
  /** Recorded as soon as the package is done, while the build still runs. */
  artefact: ArtefactView | null;
  /** From-scratch builds: the artefact the cache held for this key before (null: none); absent from older snapshots. */
  previousArtefactDigest?: string | null;
  /** From-scratch builds: how the rebuilt artefact differs from that one (null until compared, or nothing to compare). */
  changes?: ArtefactChanges | null;
}

export interface BuildView {
  id: string;
  flavourId: string;
  revisionNumber: number;
  version: string;
  status: BuildStatus;
  totalPackages: number;
  donePackages: number;
  currentPackage: string | null;
  /** Set while running: preparing, building packages, publishing the image. */
  phase: BuildPhase | null;
  phaseDetail: string | null;
  /** As stored by the worker: the registry's public address, pullable from other machines. */
  imageRef: string | null;
  imageDigest: string | null;
  imageSize: number | null;
  error: string | null;
  retryOf: string | null;
  /** Built without the cache; `scheduled` when the flavour's schedule started it. Absent from older snapshots. */
  fromScratch?: boolean;
  scheduled?: boolean;
  /** "import": an image made by hand and imported (see parentBuildId, sourceReference). Absent from older snapshots. */
  kind?: BuildKind;
  parentBuildId?: string | null;
  sourceReference?: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  cancelRequestedAt: string | null;
  /** Step output kept in the log (bytes, lines) and lines dropped by the per-second limit. Absent from older snapshots. */
  logBytes?: number;
  logLines?: number;
  logDroppedLines?: number;
  startedByUser: { name: string; email: string } | null;
  packages: BuildPackageView[];
  /** The number of the repository revision this build published (succeeded builds only); absent from older snapshots. */
  repositoryRevision?: number | null;
  /** Queued again after an engine or registry outage: which attempt of how many, when the next starts, why the last failed. */
  retry?: { attemptNumber: number; maxAttempts: number; at: string | null; reason: string | null } | null;
}

export interface LogLine {
  id: number;
  packageId: string | null;
  line: string;
}

export const isActive = (status: BuildStatus) => status === "queued" || status === "running";

/** "1.4 MiB": binary units, as the rest of the portal writes limits. */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return "—";
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
}

/** "850 ms", "12.3 s", "4 min 05 s", "1 h 02 min". */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || ms < 0) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const total = Math.round(s);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  if (h > 0) return `${h} h ${String(m).padStart(2, "0")} min`;
  return `${m} min ${String(sec).padStart(2, "0")} s`;
}

/** "~40 s", "~3 min", "~1 h 20 min": an expectation, so no more precise than it is. */
export function formatApproxDuration(ms: number): string {
  if (ms < 60_000) return `~${Math.max(1, Math.round(ms / 1000))} s`;
  const minutes = Math.round(ms / 60_000);
  if (minutes < 60) return `~${minutes} min`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m === 0 ? `~${h} h` : `~${h} h ${m} min`;
}

/** Wall time of a build: start to finish, or start to now while it runs. */
export function buildDuration(b: { startedAt: string | Date | null; finishedAt: string | Date | null }, now?: number): number | null {
  if (!b.startedAt) return null;
  const start = new Date(b.startedAt).getTime();
  const end = b.finishedAt ? new Date(b.finishedAt).getTime() : now;
  return end === undefined ? null : end - start;
}

/** "sha256:0123456789ab" — enough to tell artefacts apart in a table. */
export const shortDigest = (digest: string) => digest.replace(/^(sha256:)?([0-9a-f]{12})[0-9a-f]*$/, (_, algo: string | undefined, hex: string) => `${algo ?? ""}${hex}`);

/** `registry/org/flavour:tag` → `registry/org/flavour@sha256:…` (the tag is after the last colon of the last path segment). */
export function digestReference(imageRef: string, digest: string): string {
  const slash = imageRef.lastIndexOf("/");
  const colon = imageRef.lastIndexOf(":");
  const repository = colon > slash ? imageRef.slice(0, colon) : imageRef;
  return `${repository}@${digest}`;
}

export const formatWhen = (iso: string | Date) => new Date(iso).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "medium" });

export const STATUS_LABEL: Record<BuildStatus, string> = {
  queued: "Queued",
  running: "Running",
  succeeded: "Succeeded",
  failed: "Failed",
  cancelled: "Cancelled",
};

/** "-rw-r--r--" from a type and permission bits. */
export function formatMode(type: string, mode: number): string {
  const kind = type === "directory" ? "d" : type === "symlink" ? "l" : type === "file" || type === "link" ? "-" : "?";
  const bits = ["r", "w", "x"];
  let out = kind;
  for (let i = 8; i >= 0; i--) out += mode & (1 << i) ? bits[(8 - i) % 3] : "-";
  return out;
}

/**
 * A rebuilt package against the artefact the cache held for its key: "unchanged", "unchanged except logs and caches
 * (6 files)", "1 file changed", "5 files changed (3 changed, 2 added)".
 */
export function describeChanges(changes: ArtefactChanges): { changed: boolean; summary: string } {
  const real = changes.added + changes.removed + changes.changed;
  const volatile = changes.volatile ?? 0;
  if (real === 0) return { changed: false, summary: changes.identical || volatile === 0 ? "unchanged" : `unchanged except logs and caches (${plural(volatile, "file")})` };
  const kinds = (["changed", "added", "removed"] as const).filter((kind) => changes[kind] > 0);
  if (kinds.length === 1) return { changed: true, summary: `${plural(real, "file")} ${kinds[0]}` };
  return { changed: true, summary: `${plural(real, "file")} changed (${kinds.map((kind) => `${changes[kind]} ${kind}`).join(", ")})` };
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** A from-scratch build in one line: which rebuilt packages came out different from what the cache held. */
export function scratchSummary(packages: BuildPackageView[]): string {
  const compared = packages.filter((p) => p.changes);
  const changed = compared.filter((p) => describeChanges(p.changes!).changed);
  const uncompared = packages.filter((p) => p.status === "built" && !p.changes && p.previousArtefactDigest === null).length;
  const pending = packages.filter((p) => p.status === "pending" || p.status === "running").length;
  const parts = [
    "Built from scratch, without the cache; each package's new artefact is compared with the one the cache held.",
    compared.length > 0 &&
      (changed.length === 0
        ? `All ${plural(compared.length, "compared package")} are unchanged (logs and caches aside).`
        : `${changed.length} of ${plural(compared.length, "compared package")} changed: ${changed.map((p) => p.packageId).join(", ")}.`),
    uncompared > 0 && `${plural(uncompared, "package")} had no cached artefact to compare with.`,
    pending > 0 && `${pending} still to build.`,
  ];
  return parts.filter(Boolean).join(" ");
}
