"use client";

// The Debian packages installed in a revision's image (from dpkg's status file), with a filter over name, source and licence.
import { useMemo, useState } from "react";
import { Field } from "../ui/field";

export interface DebianPackageRow {
  name: string;
  version: string;
  architecture: string;
  source?: string | null;
  sourceVersion?: string | null;
  license?: string | null;
  homepage?: string | null;
}

/** Rows drawn at once; the filter narrows the rest down. */
const SHOWN = 500;

export function DebianPackageTable({ packages }: { packages: DebianPackageRow[] }) {
  const [filter, setFilter] = useState("");
  const [all, setAll] = useState(false);
  const matching = useMemo(() => {
    const needle = filter.trim().toLowerCase();
    if (!needle) return packages;
    return packages.filter((p) => [p.name, p.version, p.source ?? "", p.license ?? ""].some((v) => v.toLowerCase().includes(needle)));
  }, [packages, filter]);
  const shown = all ? matching : matching.slice(0, SHOWN);

  if (packages.length === 0)
    return <p className="text-sm text-slate-600">This image has no dpkg database, so there is no list of Debian packages (a base image that does not install with apt has none).</p>;
  return (
    <div className="space-y-3">
      <Field label="Filter Debian packages" type="search" value={filter} onChange={(e) => setFilter(e.target.value)} placeholder="name, version, source or licence" autoComplete="off" className="max-w-md" />
      <p className="text-xs text-slate-500" aria-live="polite">
        {matching.length === packages.length ? `${packages.length} Debian packages` : `${matching.length} of ${packages.length} Debian packages match “${filter.trim()}”`}
      </p>
      {matching.length > 0 && (
        <div className="-mx-5 max-h-[32rem] overflow-auto">
          <table className="w-full text-left text-sm">
            <caption className="sr-only">Debian packages in the image</caption>
            <thead className="sticky top-0 bg-white text-xs uppercase text-slate-500">
              <tr>
                <th scope="col" className="py-2 pr-3 pl-5">
                  Name
                </th>
                <th scope="col" className="px-3">
                  Version
                </th>
                <th scope="col" className="px-3">
                  Architecture
                </th>
                <th scope="col" className="px-3">
                  Source
                </th>
                <th scope="col" className="py-2 pr-5 pl-3">
                  Licence
                </th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {shown.map((p) => (
                <tr key={`${p.name}:${p.architecture}`}>
                  <td className="py-1.5 pr-3 pl-5 font-mono text-xs whitespace-nowrap">
                    {p.homepage ? (
                      <a href={p.homepage} className="text-brand-600 hover:underline" rel="noreferrer noopener" target="_blank">
                        {p.name}
                      </a>
                    ) : (
                      p.name
                    )}
                  </td>
                  <td className="max-w-[14rem] truncate px-3 font-mono text-xs text-slate-700" title={p.version}>
                    {p.version}
                  </td>
                  <td className="px-3 font-mono text-xs text-slate-600">{p.architecture}</td>
                  <td className="px-3 font-mono text-xs text-slate-600">
                    {p.source ? (
                      <>
                        {p.source}
                        {p.sourceVersion && <span className="text-slate-400"> ({p.sourceVersion})</span>}
                      </>
                    ) : (
                      <span className="text-slate-300" title="Built from a source package of the same name">
                        —
                      </span>
                    )}
                  </td>
                  <td className="max-w-[16rem] py-1.5 pr-5 pl-3 text-xs break-words text-slate-600">{p.license || <span className="text-slate-400">not stated</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {matching.length > shown.length && (
        <button type="button" onClick={() => setAll(true)} className="text-sm font-medium text-brand-600 hover:underline">
          Show all {matching.length} Debian packages
        </button>
      )}
    </div>
  );
}
