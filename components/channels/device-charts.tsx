// Two small bar charts of a channel's devices: how many run each version, and how their last upgrade went.
// Plain CSS bars with the figure beside each: a handful of rows needs no chart library.

interface Bar {
  label: string;
  count: number;
  tone: string;
}

function BarChart({ title, bars, total }: { title: string; bars: Bar[]; total: number }) {
  const max = Math.max(1, ...bars.map((b) => b.count));
  return (
    <figure className="space-y-2">
      <figcaption className="text-xs font-medium text-slate-700">{title}</figcaption>
      <ul aria-label={title} className="space-y-1.5">
        {bars.map((b) => (
          <li key={b.label} className="grid grid-cols-[8rem_1fr_3.5rem] items-center gap-2 text-xs">
            <span className="truncate font-mono" title={b.label}>
              {b.label}
            </span>
            <span aria-hidden className="h-2.5 overflow-hidden rounded-full bg-slate-100">
              <span className={`block h-full rounded-full ${b.tone}`} style={{ width: `${(b.count / max) * 100}%` }} />
            </span>
            <span className="text-right tabular-nums text-slate-700">
              {b.count}
              <span className="sr-only"> of {total} devices</span>
            </span>
          </li>
        ))}
      </ul>
    </figure>
  );
}

const RESULT_BARS: Record<string, { label: string; tone: string }> = {
  success: { label: "success", tone: "bg-emerald-500" },
  failure: { label: "failure", tone: "bg-red-500" },
  none: { label: "none", tone: "bg-slate-400" },
};

export function DeviceCharts({
  byVersion,
  byResult,
  total,
}: {
  byVersion: Array<{ version: string | null; count: number }>;
  byResult: Array<{ result: string | null; count: number }>;
  total: number;
}) {
  if (total === 0) return null;
  const versions = byVersion.map((v) => ({ label: v.version ?? "unknown", count: v.count, tone: "bg-brand-500" }));
  const results = [...byResult]
    .sort((a, b) => b.count - a.count)
    .map((r) => ({ label: r.result ? (RESULT_BARS[r.result]?.label ?? r.result) : "no report yet", count: r.count, tone: r.result ? (RESULT_BARS[r.result]?.tone ?? "bg-slate-400") : "bg-slate-300" }));
  return (
    <div className="grid gap-6 md:grid-cols-2">
      <BarChart title="Devices by version" bars={versions} total={total} />
      <BarChart title="Devices by last upgrade result" bars={results} total={total} />
    </div>
  );
}

