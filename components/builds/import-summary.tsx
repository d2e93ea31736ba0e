"use client";

// The build page of an imported build: who imported it from where and which build it was made from, then the files its
// extra layers add, change and remove against that build.
import { useEffect, useState } from "react";
import Link from "next/link";
import { api } from "../ui/api";
import { Card } from "../ui/card";
import { ProblemAlert } from "../ui/problem";
import { formatBytes } from "./format";

type Change = "added" | "changed" | "removed";

interface ImportDiff {
  parent: { id: string; version: string } | null;
  importedBy: { name: string; email: string } | null;
  sourceReference: string | null;
  layers: Array<{ packageId: string; diffId: string | null; size: number | null; createdBy: string | null }>;
  totals: Record<Change, number>;
  files: Array<{ path: string; change: Change; type: string | null; size: number | null }>;
  truncated: boolean;
}

const CHANGE_STYLE: Record<Change, string> = {
  added: "bg-emerald-50 text-emerald-800 ring-emerald-200",
  changed: "bg-amber-50 text-amber-900 ring-amber-200",
  removed: "bg-red-50 text-red-800 ring-red-200",
};

export function ImportSummary({ buildId }: { buildId: string }) {
  const [diff, setDiff] = useState<ImportDiff | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [filter, setFilter] = useState<Change | "all">("all");

  useEffect(() => {
    api<ImportDiff>(`/api/v1/builds/${buildId}/diff`).then(setDiff, setError);
  }, [buildId]);

  if (error != null) return <ProblemAlert error={error} title="The changes of this import could not be loaded." />;
  if (!diff) return <p className="text-sm text-slate-500">Loading what this import changes…</p>;
  const files = filter === "all" ? diff.files : diff.files.filter((f) => f.change === filter);
  return (
    <Card title="Made by hand">
      <div className="space-y-4">
        <p className="text-sm text-slate-700" data-testid="import-origin">
          Imported by <span className="font-medium">{diff.importedBy ? diff.importedBy.name || diff.importedBy.email : "a deleted user"}</span> from build{" "}
          {diff.parent ? (
            <Link href={`/builds/${diff.parent.id}`} className="font-mono font-medium text-brand-600 hover:underline">
              {diff.parent.version}
            </Link>
          ) : (
            "(deleted)"
          )}{" "}
          — <span className="font-mono text-xs break-all">{diff.sourceReference}</span>
        </p>
        <ul className="space-y-1 text-xs text-slate-600" aria-label="Extra layers">
          {diff.layers.map((l) => (
            <li key={l.packageId}>
              <span className="font-mono">{l.packageId}</span> ({formatBytes(l.size)}){l.createdBy && <span className="font-mono break-all text-slate-500"> · {l.createdBy}</span>}
            </li>
          ))}
        </ul>
        <div className="flex flex-wrap items-center gap-2 text-sm" role="group" aria-label="Show changes">
          {(["all", "added", "changed", "removed"] as const).map((kind) => (
            <button
              key={kind}
              type="button"
              aria-pressed={filter === kind}
              onClick={() => setFilter(kind)}
              className={`rounded-full px-3 py-1 ring-1 ${filter === kind ? "bg-slate-800 text-white ring-slate-800" : "bg-white text-slate-700 ring-slate-300 hover:bg-slate-50"}`}
            >
              {kind === "all" ? `All ${diff.totals.added + diff.totals.changed + diff.totals.removed}` : `${kind[0].toUpperCase()}${kind.slice(1)} ${diff.totals[kind]}`}
            </button>
          ))}
        </div>
        {files.length === 0 ? (
          <p className="text-sm text-slate-500">No file {filter === "all" ? "changes" : filter}.</p>
        ) : (
          <div className="max-h-96 overflow-auto">
            <table className="w-full text-left text-sm">
              <caption className="sr-only">Files the import changes against build {diff.parent?.version}</caption>
              <thead className="text-xs uppercase text-slate-500">
                <tr>
                  <th scope="col" className="py-1 pr-3">
                    Change
                  </th>
                  <th scope="col" className="px-3">
                    Path
                  </th>
                  <th scope="col" className="py-1 pl-3 text-right">
                    Size
                  </th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100">
                {files.map((f) => (
                  <tr key={f.path} aria-label={`${f.change} ${f.path}`}>
                    <td className="py-1 pr-3">
                      <span className={`rounded px-1.5 py-0.5 text-xs ring-1 ${CHANGE_STYLE[f.change]}`}>{f.change}</span>
                    </td>
                    <td className="px-3 py-1 font-mono text-xs break-all">
                      {f.path}
                      {f.type === "directory" ? "/" : ""}
                    </td>
                    <td className="py-1 pl-3 text-right whitespace-nowrap tabular-nums text-slate-600">{f.change === "removed" || f.type === "directory" ? "" : formatBytes(f.size)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {diff.truncated && <p className="text-xs text-slate-500">Only the first files are listed.</p>}
      </div>
    </Card>
  );
}
