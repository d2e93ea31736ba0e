// What approving a release changes on its channel: packages added, removed and changed (with versions and size
// deltas), the image's Debian packages, and the image size. Server-safe: no hooks.
import type { ReactNode } from "react";
import type { ReleaseDiff } from "@/lib/releases/diff";
import { formatBytes } from "../builds/format";
import { deltaTone, formatSizeDelta } from "../repository/format";

/** Debian lists longer than this start folded. */
const FOLD_OVER = 12;

function Delta({ bytes }: { bytes: number }) {
  return <span className={`tabular-nums ${deltaTone(bytes)}`}>{formatSizeDelta(bytes)}</span>;
}

function Group({ title, count, children, fold = false }: { title: string; count: number; children: ReactNode; fold?: boolean }) {
  if (count === 0) return null;
  const heading = `${title} (${count})`;
  if (fold)
    return (
      <details className="text-sm">
        <summary className="cursor-pointer text-xs font-medium text-slate-700">{heading}</summary>
        <div className="mt-1">{children}</div>
      </details>
    );
  return (
    <section aria-label={title} className="text-sm">
      <h4 className="mb-1 text-xs font-medium text-slate-700">{heading}</h4>
      {children}
    </section>
  );
}

export function ReleaseDiffView({ diff, current }: { diff: ReleaseDiff | null; current: { version: string } | null }) {
  if (!current || !diff) return <p className="text-sm text-slate-600">The first release on this channel: every package is new to its devices.</p>;
  const { packages, debianPackages: debian } = diff;
  const packageChanges = packages.added.length + packages.removed.length + packages.changed.length;
  const debianChanges = debian ? debian.added.length + debian.removed.length + debian.changed.length : 0;
  return (
    <div className="space-y-3">
      <p className="text-sm text-slate-700">
        Against <span className="font-mono">{current.version}</span>, the channel&apos;s release now ({diff.source === "repository" ? "from the repository" : "from the builds"}):{" "}
        {packages.added.length} added, {packages.removed.length} removed, {packages.changed.length} changed, {packages.unchanged} unchanged packages · packages{" "}
        <Delta bytes={packages.sizeDelta} /> · image {diff.imageSizeDelta === null ? "size unknown" : <Delta bytes={diff.imageSizeDelta} />}
      </p>
      {packageChanges === 0 && <p className="text-sm text-slate-600">The same packages at the same versions.</p>}
      <Group title="Packages added" count={packages.added.length}>
        <ul className="space-y-0.5 font-mono text-xs">
          {packages.added.map((p) => (
            <li key={p.key} className="text-emerald-900">
              + {p.key} {p.version} <span className="font-sans text-slate-500">({formatBytes(p.size)})</span>
            </li>
          ))}
        </ul>
      </Group>
      <Group title="Packages removed" count={packages.removed.length}>
        <ul className="space-y-0.5 font-mono text-xs">
          {packages.removed.map((p) => (
            <li key={p.key} className="text-red-900">
              − {p.key} {p.version} <span className="font-sans text-slate-500">({formatBytes(p.size)})</span>
            </li>
          ))}
        </ul>
      </Group>
      <Group title="Packages changed" count={packages.changed.length}>
        <ul className="space-y-0.5 font-mono text-xs">
          {packages.changed.map((c) => (
            <li key={c.key}>
              ~ {c.key} {c.from === c.to ? c.to : `${c.from} → ${c.to}`} <Delta bytes={c.sizeDelta} />
              {c.sameArtefact && <span className="font-sans text-slate-500"> (same artefact)</span>}
            </li>
          ))}
        </ul>
      </Group>
      {debian === null ? (
        <p className="text-xs text-slate-500">Debian packages: not known (a build without a repository revision).</p>
      ) : debianChanges === 0 ? (
        <p className="text-xs text-slate-500">Debian packages: the same, at the same versions.</p>
      ) : (
        <>
          <Group title="Debian packages changed" count={debian.changed.length} fold={debian.changed.length > FOLD_OVER}>
            <ul className="space-y-0.5 font-mono text-xs">
              {debian.changed.map((c, i) => (
                <li key={`${c.name}-${i}`}>
                  {c.name} {c.from} → {c.to}
                </li>
              ))}
            </ul>
          </Group>
          <Group title="Debian packages added" count={debian.added.length} fold={debian.added.length > FOLD_OVER}>
            <ul className="flex flex-wrap gap-1 font-mono text-xs">
              {debian.added.map((p, i) => (
                <li key={`${p.name}-${i}`} className="rounded bg-emerald-50 px-1.5 py-0.5 text-emerald-900">
                  + {p.name} {p.version}
                </li>
              ))}
            </ul>
          </Group>
          <Group title="Debian packages removed" count={debian.removed.length} fold={debian.removed.length > FOLD_OVER}>
            <ul className="flex flex-wrap gap-1 font-mono text-xs">
              {debian.removed.map((p, i) => (
                <li key={`${p.name}-${i}`} className="rounded bg-red-50 px-1.5 py-0.5 text-red-900">
                  − {p.name} {p.version}
                </li>
              ))}
            </ul>
          </Group>
        </>
      )}
    </div>
  );
}
