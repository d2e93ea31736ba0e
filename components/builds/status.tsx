// The state of a build at a glance: a badge for its status and progress bars (server- and client-safe).
import type { BuildProgress } from "@/lib/builds/progress";
import { queueNotice, type QueueNoticeInput } from "@/lib/builds/queue-notice";
import { STATUS_LABEL, type BuildPhase, type BuildStatus } from "./format";

const badgeTone: Record<BuildStatus, string> = {
  queued: "bg-slate-100 text-slate-700 ring-slate-200",
  running: "bg-brand-50 text-brand-700 ring-brand-100",
  succeeded: "bg-emerald-50 text-emerald-800 ring-emerald-200",
  failed: "bg-red-50 text-red-800 ring-red-200",
  cancelled: "bg-amber-50 text-amber-800 ring-amber-200",
};

const dotTone: Record<BuildStatus, string> = {
  queued: "bg-slate-400",
  running: "bg-brand-500 animate-pulse",
  succeeded: "bg-emerald-500",
  failed: "bg-red-500",
  cancelled: "bg-amber-500",
};

export function BuildStatusBadge({ status, size = "sm", testId }: { status: BuildStatus; size?: "sm" | "lg"; testId?: string }) {
  const pad = size === "lg" ? "px-2.5 py-1 text-sm" : "px-2 py-0.5 text-xs";
  return (
    <span data-testid={testId} className={`inline-flex items-center gap-1.5 rounded-full font-medium ring-1 ring-inset ${pad} ${badgeTone[status]}`}>
      <span aria-hidden className={`h-1.5 w-1.5 rounded-full ${dotTone[status]}`} />
      {STATUS_LABEL[status]}
    </span>
  );
}

const barTone: Record<BuildStatus, string> = {
  queued: "bg-slate-300",
  running: "bg-brand-500",
  succeeded: "bg-emerald-500",
  failed: "bg-red-500",
  cancelled: "bg-amber-400",
};

/** Whether the running build is in a stretch whose length is not known: before the first package, or after the last. */
const unmeasured = (status: BuildStatus, phase: BuildPhase | null) => status === "running" && (phase === "preparing" || phase === "publishing");

/** A stripe sliding along the bar: something is happening, how much of it is left is not known. */
function Indeterminate({ over }: { over: "empty" | "filled" }) {
  return (
    <div
      aria-hidden
      className={`absolute inset-y-0 left-0 w-1/3 rounded-full animate-indeterminate motion-reduce:animate-pulse ${over === "filled" ? "bg-white/50" : "bg-brand-500/60"}`}
    />
  );
}

/** role=progressbar over packages done of total, for lists; `label` is its accessible name. */
export function PackageProgress({
  done,
  total,
  status,
  phase = null,
  label = "Packages built",
}: {
  done: number;
  total: number;
  status: BuildStatus;
  phase?: BuildPhase | null;
  label?: string;
}) {
  const percent = total > 0 ? Math.round((done / total) * 100) : 0;
  const stage = unmeasured(status, phase) ? phase : null;
  return (
    <div className="flex items-center gap-2">
      <div
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={total}
        aria-valuenow={done}
        aria-valuetext={`${done} of ${total} packages${stage ? `, ${stage}` : ""}`}
        className="relative h-1.5 w-24 overflow-hidden rounded-full bg-slate-100"
      >
        <div className={`h-full rounded-full transition-[width] duration-500 ${barTone[status]}`} style={{ width: `${percent}%` }} />
        {stage && <Indeterminate over={done > 0 ? "filled" : "empty"} />}
      </div>
      <span className="text-xs tabular-nums text-slate-600">{stage ?? `${done} / ${total}`}</span>
    </div>
  );
}

/**
 * The build page's bar: the package work done, weighted by what each package is expected to take. Before the first
 * package and while publishing it has no value (indeterminate) and says what is happening instead.
 */
export function BuildProgressBar({
  status,
  phase,
  phaseLine,
  progress,
  timeLeft,
}: {
  status: BuildStatus;
  phase: BuildPhase | null;
  /** "Publishing — verifying the pushed image", from describePhase. */
  phaseLine: string | null;
  progress: BuildProgress;
  timeLeft: string | null;
}) {
  const indeterminate = unmeasured(status, phase);
  // A running build is not done until it is published: keep 100 % for a finished one.
  const percent = status === "succeeded" ? 100 : Math.floor(progress.fraction * 100) - (status === "running" && progress.fraction >= 1 ? 1 : 0);
  const packages = `${progress.done} of ${progress.total} ${progress.total === 1 ? "package" : "packages"}`;
  const caption = indeterminate && phaseLine ? phaseLine : status === "queued" ? `Waiting for a worker · ${progress.total} ${progress.total === 1 ? "package" : "packages"}` : `${packages} · ${percent}%`;
  const valueText = indeterminate ? `${phaseLine ?? phase}; ${packages}` : [`${percent}%`, packages, timeLeft].filter(Boolean).join(", ");
  return (
    <div className="space-y-1.5">
      <div
        role="progressbar"
        aria-label="Build progress"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={indeterminate ? undefined : percent}
        aria-valuetext={valueText}
        className="relative h-2.5 w-full overflow-hidden rounded-full bg-slate-100"
      >
        <div className={`h-full rounded-full transition-[width] duration-500 ${barTone[status]}`} style={{ width: `${percent}%` }} />
        {indeterminate && <Indeterminate over={percent > 0 ? "filled" : "empty"} />}
      </div>
      <div className="flex flex-wrap items-baseline justify-between gap-x-4 gap-y-1 text-sm text-slate-600">
        <span data-testid="build-progress-caption" className="min-w-0 break-words tabular-nums">
          {caption}
        </span>
        {timeLeft && (
          <span data-testid="build-time-left" className="shrink-0 tabular-nums text-slate-700">
            {timeLeft}
          </span>
        )}
      </div>
    </div>
  );
}

/**
 * Why a build is not running yet, or that it runs again: "retrying in 8 s (attempt 2 of 4)" with the outage that
 * ended the last attempt, counting down with `now`; or that its organisation is at its cap of running builds.
 */
export function BuildQueueNotice({ build, now }: { build: QueueNoticeInput; now: number | null }) {
  const notice = queueNotice(build, now);
  if (!notice) return null;
  if (notice.kind === "retrying")
    return (
      <div role="status" data-testid="build-retry" className="rounded-md border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900">
        <p className="font-medium tabular-nums first-letter:uppercase">{notice.headline}</p>
        {notice.reason && <p className="mt-1 break-words">The last attempt failed: {notice.reason}</p>}
        <p className="mt-1 text-amber-800">The engine or the registry did not answer; Strata tries again by itself. Cancel stops it.</p>
      </div>
    );
  return (
    <p role="status" data-testid={notice.kind === "waiting" ? "build-waiting" : "build-attempt"} className="text-sm text-slate-600 first-letter:uppercase">
      {notice.headline}
    </p>
  );
}
