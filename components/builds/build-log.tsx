"use client";

// The build's output, line by line and labelled by package; follows new lines unless the reader has scrolled up.
import { useLayoutEffect, useMemo, useRef, useState } from "react";
import type { LogLine } from "./format";

/** Rendering every line of a large build (apt output runs to tens of thousands) would stall the page. */
const LINES_SHOWN = 3000;
const ALL = "__all__";
const STRATA = "__strata__";

export function BuildLog({ lines, waiting }: { lines: LogLine[]; waiting: string | null }) {
  const [filter, setFilter] = useState(ALL);
  const [showAll, setShowAll] = useState(false);
  const [following, setFollowing] = useState(true);
  const box = useRef<HTMLDivElement>(null);
  // Whether the view should stick to the bottom; a ref so scroll events do not re-render.
  const stick = useRef(true);

  const packageIds = useMemo(() => {
    const seen = new Set<string>();
    for (const l of lines) if (l.packageId) seen.add(l.packageId);
    return [...seen];
  }, [lines]);

  const filtered = useMemo(
    () => (filter === ALL ? lines : filter === STRATA ? lines.filter((l) => l.packageId === null) : lines.filter((l) => l.packageId === filter)),
    [lines, filter],
  );
  const hidden = showAll ? 0 : Math.max(0, filtered.length - LINES_SHOWN);
  const shown = hidden ? filtered.slice(hidden) : filtered;

  useLayoutEffect(() => {
    const el = box.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
    // filtered.length, not shown.length: past LINES_SHOWN the window keeps its size while the log grows.
  }, [filtered.length, filter, showAll]);

  function onScroll() {
    const el = box.current;
    if (!el) return;
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
    stick.current = atBottom;
    if (atBottom !== following) setFollowing(atBottom);
  }

  function jumpToEnd() {
    const el = box.current;
    if (!el) return;
    stick.current = true;
    setFollowing(true);
    el.scrollTop = el.scrollHeight;
  }

  return (
    <div className="space-y-2">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <label className="flex items-center gap-2 text-sm text-slate-700">
          <span>Show</span>
          <select
            value={filter}
            onChange={(e) => setFilter(e.target.value)}
            className="rounded-md border border-slate-300 bg-white px-2 py-1 text-sm shadow-sm focus:outline-none focus:ring-2 focus:ring-brand-500"
            aria-label="Show the log of"
          >
            <option value={ALL}>all packages</option>
            <option value={STRATA}>build messages only</option>
            {packageIds.map((id) => (
              <option key={id} value={id}>
                {id}
              </option>
            ))}
          </select>
        </label>
        <span className="text-xs tabular-nums text-slate-500">
          {filtered.length} {filtered.length === 1 ? "line" : "lines"}
        </span>
      </div>
      <div className="relative">
        <div
          ref={box}
          onScroll={onScroll}
          role="log"
          aria-label="Build log"
          aria-live="off"
          tabIndex={0}
          className="h-[28rem] overflow-auto rounded-md bg-slate-900 py-2 font-mono text-xs leading-5 text-slate-100 focus:outline-none focus-visible:ring-2 focus-visible:ring-brand-500"
        >
          {hidden > 0 && (
            <div className="px-3 pb-2">
              <button type="button" onClick={() => setShowAll(true)} className="rounded bg-slate-800 px-2 py-1 text-xs text-slate-200 hover:bg-slate-700">
                Show {hidden} earlier {hidden === 1 ? "line" : "lines"}
              </button>
            </div>
          )}
          {shown.length === 0 ? (
            <p className="px-3 text-slate-400">{waiting ?? "No output."}</p>
          ) : (
            shown.map((l) => (
              <div key={l.id} className="flex gap-3 px-3 hover:bg-slate-800/60">
                <span className={`w-36 shrink-0 truncate select-none ${l.packageId ? "text-slate-500" : "text-sky-300"}`} title={l.packageId ?? "strata"}>
                  {l.packageId ?? "strata"}
                </span>
                <span className="min-w-0 whitespace-pre-wrap break-all">{l.line}</span>
              </div>
            ))
          )}
        </div>
        {!following && (
          <button
            type="button"
            onClick={jumpToEnd}
            className="absolute right-4 bottom-3 rounded-full bg-brand-600 px-3 py-1 text-xs font-medium text-white shadow hover:bg-brand-700 focus:outline-none focus-visible:ring-2 focus-visible:ring-white"
          >
            Follow the log ↓
          </button>
        )}
      </div>
    </div>
  );
}
