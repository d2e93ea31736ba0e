// The overlay files of a layer in the layer list: their paths, and (opened) the first lines of each file.
import type { Layer } from "./layer-utils";

const PREVIEW_LINES = 4;

export function OverlayPreview({ layerId, files }: { layerId: string; files: Layer["files"] }) {
  return (
    <details className="group mt-1 text-xs">
      <summary className="cursor-pointer truncate font-mono text-slate-500 hover:text-slate-800">
        <span className="sr-only">Preview the files of {layerId}: </span>
        {files.map((f) => f.path).join("  ")}
        <span className="ml-2 font-sans text-brand-600 group-open:hidden">show content</span>
      </summary>
      <ul aria-label={`Files of ${layerId}`} className="mt-1 space-y-1.5">
        {files.map((f) => {
          const lines = f.content.split("\n");
          if (lines.at(-1) === "") lines.pop();
          const more = lines.length - PREVIEW_LINES;
          return (
            <li key={f.path} aria-label={f.path} className="rounded border border-slate-200 bg-slate-50">
              <p className="border-b border-slate-200 px-2 py-0.5 font-mono text-slate-600">
                {f.path} <span className="text-slate-400">{f.mode}</span>
              </p>
              {lines.length === 0 ? (
                <p className="px-2 py-1 italic text-slate-400">empty file</p>
              ) : (
                <pre className="overflow-x-auto px-2 py-1 font-mono text-slate-700">{lines.slice(0, PREVIEW_LINES).join("\n")}</pre>
              )}
              {more > 0 && <p className="px-2 pb-1 text-slate-400">… {more} more line{more === 1 ? "" : "s"}</p>}
            </li>
          );
        })}
      </ul>
    </details>
  );
}
