"use client";

// The packages of a repository revision: filter by name, sort by build order, name, size or build time; each links to its page.
import { useMemo, useState } from "react";
import Link from "next/link";
import type { RevisionPackage } from "@/lib/repository/queries";
import { Field } from "../ui/field";
import { SelectField } from "../ui/controls";
import { formatBytes, formatDuration } from "../builds/format";
import { packagePath } from "./format";

const SORTS = {
  order: { label: "Build order", compare: (a: RevisionPackage, b: RevisionPackage) => a.position - b.position },
  name: { label: "Name", compare: (a: RevisionPackage, b: RevisionPackage) => `${a.category}/${a.name}`.localeCompare(`${b.category}/${b.name}`) },
  size: { label: "Size, largest first", compare: (a: RevisionPackage, b: RevisionPackage) => b.artefact.size - a.artefact.size || a.position - b.position },
  time: {
    label: "Build time, longest first",
    // Packages without a recorded time go last.
    compare: (a: RevisionPackage, b: RevisionPackage) => (b.buildMs ?? -1) - (a.buildMs ?? -1) || a.position - b.position,
  },
} as const;

type Sort = keyof typeof SORTS;

export function RevisionPackageTable({ flavourId, number, packages }: { flavourId: string; number: number; packages: RevisionPackage[] }) {
  const [filter, setFilter] = useState("");
  const [sort, setSort] = useState<Sort>("order");
  const shown = useMemo(() => {
    const needle = filter.trim().toLowerCase();
    const kept = needle ? packages.filter((p) => `${p.category}/${p.name} ${p.version}`.toLowerCase().includes(needle)) : packages;
    return [...kept].sort(SORTS[sort].compare);
  }, [packages, filter, sort]);

  return (
    <div className="space-y-3">
      <div className="flex flex-wrap items-end gap-3">
        <Field label="Filter packages" type="search" value={filter} onChange={(e) => setFilter(e.target.value)} placeholder="category/name or version" className="min-w-56 flex-1" autoComplete="off" />
        <SelectField label="Sort by" value={sort} onChange={(e) => setSort(e.target.value as Sort)} className="w-56">
          {Object.entries(SORTS).map(([value, s]) => (
            <option key={value} value={value}>
              {s.label}
            </option>
          ))}
        </SelectField>
      </div>
      <p className="text-xs text-slate-500" aria-live="polite">
        {shown.length === packages.length ? `${packages.length} packages` : `${shown.length} of ${packages.length} packages match “${filter.trim()}”`}
      </p>
      {shown.length > 0 && (
        <div className="-mx-5 overflow-x-auto">
          <table className="w-full text-left text-sm">
            <caption className="sr-only">Packages of this revision, sorted by {SORTS[sort].label.toLowerCase()}</caption>
            <thead className="text-xs uppercase text-slate-500">
              <tr>
                <th scope="col" className="py-2 pr-2 pl-5 text-right">
                  #
                </th>
                <th scope="col" className="px-2">
                  Package
                </th>
                <th scope="col" className="px-2">
                  Version
                </th>
                <th scope="col" className="px-2">
                  From
                </th>
                <th scope="col" className="px-2 text-right">
                  Size
                </th>
                <th scope="col" className="px-2 text-right">
                  Files
                </th>
                <th scope="col" className="px-2">
                  Cache
                </th>
                <th scope="col" className="py-2 pr-5 pl-2 text-right">
                  Build time
                </th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {shown.map((p) => {
                const id = `${p.category}/${p.name}`;
                return (
                  <tr key={id} aria-label={id}>
                    <td className="py-2 pr-2 pl-5 text-right text-xs tabular-nums text-slate-400">{p.position + 1}</td>
                    <td className="px-2 whitespace-nowrap">
                      <Link href={packagePath(flavourId, number, p)} className="font-mono text-[13px] font-medium text-brand-600 hover:underline">
                        <span className="text-brand-600/70">{p.category}/</span>
                        {p.name}
                      </Link>
                    </td>
                    <td className="max-w-[10rem] truncate px-2 font-mono text-xs text-slate-600" title={p.version}>
                      {p.version}
                    </td>
                    <td className="px-2 text-xs">
                      {p.fromBase ? <span className="text-slate-500">base</span> : <span className="rounded bg-brand-50 px-1.5 py-0.5 font-medium text-brand-700">layer</span>}
                    </td>
                    <td className="px-2 text-right text-xs whitespace-nowrap tabular-nums text-slate-700">
                      {formatBytes(p.artefact.size)}
                      <span className="block text-slate-400">{formatBytes(p.artefact.uncompressedSize)} unpacked</span>
                    </td>
                    <td className="px-2 text-right text-xs tabular-nums text-slate-600">{p.artefact.fileCount}</td>
                    <td className="px-2 text-xs">
                      {p.cached ? (
                        <span title="Reused from an earlier build with the same cache key" className="rounded bg-emerald-50 px-1.5 py-0.5 font-medium text-emerald-800 ring-1 ring-emerald-200 ring-inset">
                          cache hit
                        </span>
                      ) : (
                        <span className="text-slate-600">built</span>
                      )}
                    </td>
                    <td className="py-2 pr-5 pl-2 text-right text-xs whitespace-nowrap tabular-nums text-slate-600">{formatDuration(p.buildMs)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {shown.length === 0 && (
        <p className="rounded-md border border-dashed border-slate-300 px-4 py-6 text-center text-sm text-slate-600">No package matches “{filter.trim()}”. Clear the filter to see all {packages.length}.</p>
      )}
    </div>
  );
}
