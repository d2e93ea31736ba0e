// The state of a build at a glance: a badge for its status and a progress bar over its packages (server- and client-safe).
import { STATUS_LABEL, type BuildStatus } from "./format";

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

/** role=progressbar over packages done of total; `label` is its accessible name. */
export function PackageProgress({
  done,
  total,
  status,
  label = "Packages built",
  compact = false,
}: {
  done: number;
  total: number;
  status: BuildStatus;
  label?: string;
  compact?: boolean;
}) {
  const percent = total > 0 ? Math.round((done / total) * 100) : 0;
  return (
    <div className={compact ? "flex items-center gap-2" : "space-y-1"}>
      <div
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={total}
        aria-valuenow={done}
        aria-valuetext={`${done} of ${total} packages`}
        className={`overflow-hidden rounded-full bg-slate-100 ${compact ? "h-1.5 w-24" : "h-2.5 w-full"}`}
      >
        <div className={`h-full rounded-full transition-[width] duration-500 ${barTone[status]}`} style={{ width: `${percent}%` }} />
      </div>
      <span className={`tabular-nums text-slate-600 ${compact ? "text-xs" : "text-sm"}`}>
        {done} / {total}
        {!compact && " packages"}
      </span>
    </div>
  );
}
