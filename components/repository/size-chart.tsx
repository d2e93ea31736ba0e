// Artefact size by package as horizontal bars, largest first; a list, so screen readers read each package with its size.
import Link from "next/link";
import { formatBytes } from "../builds/format";
import { packagePath } from "./format";

export interface SizedPackage {
  category: string;
  name: string;
  fromBase: boolean;
  artefact: { size: number; uncompressedSize: number };
}

export function SizeChart({ flavourId, number, packages }: { flavourId: string; number: number; packages: SizedPackage[] }) {
  const sorted = [...packages].sort((a, b) => b.artefact.size - a.artefact.size);
  const largest = Math.max(1, ...sorted.map((p) => p.artefact.size));
  const total = sorted.reduce((sum, p) => sum + p.artefact.size, 0);
  if (sorted.length === 0) return <p className="text-sm text-slate-600">This revision has no packages.</p>;
  return (
    <figure>
      <ol aria-label="Artefact size by package, largest first" className="space-y-1.5">
        {sorted.map((p) => {
          const id = `${p.category}/${p.name}`;
          const share = total > 0 ? (p.artefact.size / total) * 100 : 0;
          return (
            <li key={id} className="grid grid-cols-[minmax(8rem,14rem)_1fr_auto] items-center gap-3 text-xs">
              <Link href={packagePath(flavourId, number, p)} className="truncate font-mono text-slate-700 hover:text-brand-700 hover:underline" title={id}>
                {id}
              </Link>
              <span aria-hidden className="h-3 rounded-sm bg-slate-100">
                <span
                  className={`block h-3 rounded-sm ${p.fromBase ? "bg-slate-400" : "bg-brand-500"}`}
                  style={{ width: `${Math.max(0.5, (p.artefact.size / largest) * 100)}%` }}
                />
              </span>
              <span className="text-right whitespace-nowrap tabular-nums text-slate-600">
                {formatBytes(p.artefact.size)}
                <span className="sr-only">
                  {" "}
                  compressed, {formatBytes(p.artefact.uncompressedSize)} unpacked, {share.toFixed(0)}% of the revision
                </span>
              </span>
            </li>
          );
        })}
      </ol>
      <figcaption className="mt-3 flex flex-wrap items-center gap-x-4 gap-y-1 text-xs text-slate-500">
        <span>Compressed artefact size; {formatBytes(total)} in all.</span>
        <span className="inline-flex items-center gap-1.5">
          <span aria-hidden className="h-2.5 w-2.5 rounded-sm bg-slate-400" /> base manifest
        </span>
        <span className="inline-flex items-center gap-1.5">
          <span aria-hidden className="h-2.5 w-2.5 rounded-sm bg-brand-500" /> your layers
        </span>
      </figcaption>
    </figure>
  );
}
