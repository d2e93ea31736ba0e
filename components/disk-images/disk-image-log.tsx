"use client";

// A disk image job's output, line by line; follows new lines unless the reader has scrolled up (like the build log).
import { useLayoutEffect, useRef } from "react";
import type { DiskImageLogLine } from "./types";

export function DiskImageLog({ id, lines, waiting }: { id: string; lines: DiskImageLogLine[]; waiting: string }) {
  const box = useRef<HTMLDivElement>(null);
  // Whether the view sticks to the bottom; a ref so scroll events do not re-render.
  const stick = useRef(true);

  useLayoutEffect(() => {
    const el = box.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [lines.length]);

  function onScroll() {
    const el = box.current;
    if (el) stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
  }

  return (
    <div
      id={id}
      ref={box}
      onScroll={onScroll}
      role="log"
      aria-label="Disk image log"
      aria-live="off"
      tabIndex={0}
      className="max-h-72 overflow-auto rounded-md bg-slate-900 py-2 font-mono text-xs leading-5 text-slate-100 focus:outline-none focus-visible:ring-2 focus-visible:ring-brand-500"
    >
      {lines.length === 0 ? (
        <p className="px-3 text-slate-400">{waiting}</p>
      ) : (
        lines.map((l) => (
          <div key={l.id} className="px-3 whitespace-pre-wrap break-all hover:bg-slate-800/60">
            {l.line}
          </div>
        ))
      )}
    </div>
  );
}
