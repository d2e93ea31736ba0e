"use client";

// The packages of a build in order: what each is, how far it got, how long it took (or is expected to), and its
// artefact — shown as soon as the package is done, while the rest of the build runs; its file list opens in place.
import { Fragment, useEffect, useState } from "react";
import { api } from "../ui/api";
import { ProblemAlert } from "../ui/problem";
import { describeChanges, formatApproxDuration, formatBytes, formatDuration, formatMode, shortDigest, type BuildPackageStatus, type BuildPackageView } from "./format";

interface ArtefactFileView {
  path: string;
  type: string;
  size: number;
  mode: number;
  target?: string;
}

interface ArtefactDetails {
  digest: string;
  files: ArtefactFileView[];
  deleted: string[];
}

const packageTone: Record<BuildPackageStatus, string> = {
  pending: "text-slate-500",
  running: "text-brand-700 font-medium",
  cached: "text-emerald-700",
  built: "text-emerald-700",
  imported: "text-violet-700",
  failed: "text-red-700 font-medium",
  cancelled: "text-amber-700",
};

const packageLabel: Record<BuildPackageStatus, string> = {
  pending: "pending",
  running: "running",
  cached: "built",
  built: "built",
  imported: "imported",
  failed: "failed",
  cancelled: "cancelled",
};

function PackageState({ pkg }: { pkg: BuildPackageView }) {
  return (
    <span className="inline-flex flex-wrap items-center gap-1.5">
      <span className={packageTone[pkg.status]}>
        {pkg.status === "running" && <span aria-hidden className="mr-1 inline-block h-1.5 w-1.5 animate-pulse rounded-full bg-brand-500 align-middle" />}
        {packageLabel[pkg.status]}
      </span>
      {pkg.status === "running" && pkg.step !== null && pkg.steps !== null && (
        <span className="tabular-nums text-xs text-slate-600">
          step {pkg.step}/{pkg.steps}
        </span>
      )}
      {pkg.cached && (
        <span title="Reused from an earlier build with the same cache key" className="rounded bg-emerald-50 px-1.5 py-0.5 text-xs font-medium text-emerald-800 ring-1 ring-inset ring-emerald-200">
          cached
        </span>
      )}
    </span>
  );
}

/**
 * From-scratch builds: how the rebuilt artefact compares with the one the cache held for the key, the changed paths
 * one click away ("did the security updates change anything?").
 */
function ArtefactChangesNote({ pkg }: { pkg: BuildPackageView }) {
  if (pkg.status !== "built") return null;
  if (!pkg.changes) {
    return pkg.previousArtefactDigest === null ? (
      <span className="block text-xs text-slate-500" title="The cache held no artefact for this package's key before this build">
        no cached artefact to compare
      </span>
    ) : null;
  }
  const { changed, summary } = describeChanges(pkg.changes);
  const listed = pkg.changes.paths;
  const more = pkg.changes.added + pkg.changes.removed + pkg.changes.changed - listed.length;
  const volatile = pkg.changes.volatilePaths ?? [];
  const title = `Compared with the cached artefact ${pkg.previousArtefactDigest ? shortDigest(pkg.previousArtefactDigest) : ""} (file type, mode, size, content and link target; not times)`;
  if (listed.length === 0 && volatile.length === 0)
    return (
      <span className="block text-xs text-slate-600" title={title}>
        {summary}
      </span>
    );
  return (
    <details className="mt-0.5 text-xs whitespace-normal" title={title}>
      <summary className={`cursor-pointer ${changed ? "font-medium text-amber-800" : "text-slate-600"}`}>{summary}</summary>
      <ul aria-label={`Changed paths of ${pkg.packageId}`} className="mt-1 max-w-md space-y-0.5 font-mono break-all text-slate-700">
        {listed.map((p) => (
          <li key={p.path}>
            <span className="text-slate-500">{p.change}</span> {p.path}
          </li>
        ))}
        {more > 0 && <li className="font-sans text-slate-500">and {more} more</li>}
        {volatile.length > 0 && (
          <li className="font-sans text-slate-500">
            logs and caches: <span className="font-mono">{volatile.join(", ")}</span>
            {(pkg.changes.volatile ?? 0) > volatile.length && ` and ${(pkg.changes.volatile ?? 0) - volatile.length} more`}
          </li>
        )}
      </ul>
    </details>
  );
}

/** Done: what it took. Running: the time so far, live, against what it is expected to take. Pending: the expectation. */
function PackageDuration({ pkg, now }: { pkg: BuildPackageView; now: number | null }) {
  const expected = pkg.expectedMs;
  if (pkg.status === "running") {
    const spent = now !== null && pkg.startedAt ? Math.max(0, now - Date.parse(pkg.startedAt)) : null;
    return (
      <>
        {spent === null ? "…" : formatDuration(spent)}
        {expected !== null && expected > 0 && (
          <span className="text-slate-400" title="Expected, from an earlier build of this package">
            {" "}
            of {formatApproxDuration(expected)}
          </span>
        )}
      </>
    );
  }
  if (pkg.status === "pending" && expected !== null) {
    return expected === 0 ? (
      <span className="text-slate-400" title="Its cache key is built already: it will be reused, not built">
        from cache
      </span>
    ) : (
      <span className="text-slate-400" title="Expected, from an earlier build of this package">
        {formatApproxDuration(expected)}
      </span>
    );
  }
  return <>{formatDuration(pkg.durationMs)}</>;
}

const FILES_SHOWN = 500;

function ArtefactFiles({ buildId, digest }: { buildId: string; digest: string }) {
  const [details, setDetails] = useState<ArtefactDetails | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [all, setAll] = useState(false);

  useEffect(() => {
    let live = true;
    api<ArtefactDetails>(`/api/v1/builds/${buildId}/artefacts/${digest}`).then(
      (loaded) => live && setDetails(loaded),
      (err: unknown) => live && setError(err),
    );
    return () => {
      live = false;
    };
  }, [buildId, digest]);
  if (error != null) return <ProblemAlert error={error} title="The file list could not be loaded." />;
  if (!details) return <p className="text-sm text-slate-500">Loading the file list…</p>;
  const files = all ? details.files : details.files.slice(0, FILES_SHOWN);
  return (
    <div className="space-y-2">
      {details.files.length === 0 ? (
        <p className="text-sm text-slate-600">This package added no files (its steps changed nothing that the artefact keeps).</p>
      ) : (
        <div className="max-h-80 overflow-auto rounded-md border border-slate-200 bg-white">
          <table className="w-full text-left font-mono text-xs">
            <caption className="sr-only">Files of artefact {shortDigest(digest)}</caption>
            <thead className="sticky top-0 bg-slate-50 text-slate-500">
              <tr>
                <th scope="col" className="px-3 py-1.5 font-medium">
                  Mode
                </th>
                <th scope="col" className="px-3 py-1.5 text-right font-medium">
                  Size
                </th>
                <th scope="col" className="px-3 py-1.5 font-medium">
                  Path
                </th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {files.map((f) => (
                <tr key={f.path}>
                  <td className="px-3 py-1 whitespace-nowrap text-slate-500">{formatMode(f.type, f.mode)}</td>
                  <td className="px-3 py-1 text-right whitespace-nowrap tabular-nums text-slate-600">{f.type === "file" ? formatBytes(f.size) : ""}</td>
                  <td className="px-3 py-1 break-all text-slate-800">
                    {f.path}
                    {f.target && <span className="text-slate-500">{f.type === "symlink" ? " → " : " = "}{f.target}</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {details.files.length > FILES_SHOWN && !all && (
        <button type="button" onClick={() => setAll(true)} className="text-sm font-medium text-brand-600 hover:underline">
          Show all {details.files.length} files
        </button>
      )}
      {details.deleted.length > 0 && (
        <div className="text-xs text-slate-600">
          <p className="font-medium text-slate-700">Removed by this package ({details.deleted.length}):</p>
          <p className="mt-0.5 font-mono break-all">{details.deleted.slice(0, 200).join("  ")}</p>
        </div>
      )}
    </div>
  );
}

export function PackageTable({ buildId, packages, now, fromScratch = false }: { buildId: string; packages: BuildPackageView[]; now: number | null; fromScratch?: boolean }) {
  const [open, setOpen] = useState<string | null>(null);
  const toggle = (digest: string) => setOpen((current) => (current === digest ? null : digest));
  if (packages.length === 0) return <p className="text-sm text-slate-600">This build has no packages.</p>;
  return (
    <div className="-mx-5 overflow-x-auto">
      <table className="w-full text-left text-sm">
        <caption className="sr-only">Packages of this build, in the order they are built</caption>
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
            <th scope="col" className="px-2">
              Status
            </th>
            <th scope="col" className="px-2 text-right">
              Duration
            </th>
            <th scope="col" className="px-2">
              Artefact
            </th>
            <th scope="col" className="px-2 text-right">
              Size
            </th>
            <th scope="col" className="py-2 pr-5 pl-2 text-right">
              Files
            </th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          {packages.map((pkg) => {
            const a = pkg.artefact;
            const panelId = `files-${pkg.position}`;
            const expanded = a !== null && open === a.digest + pkg.position;
            return (
              <Fragment key={pkg.position}>
                <tr aria-label={pkg.packageId} className={pkg.status === "running" ? "bg-brand-50/60" : pkg.status === "failed" ? "bg-red-50/60" : undefined}>
                  <td className="py-2 pr-2 pl-5 text-right tabular-nums text-xs text-slate-400">{pkg.position + 1}</td>
                  <td className="px-2 font-mono text-[13px] whitespace-nowrap">{pkg.packageId}</td>
                  <td className="max-w-[10rem] truncate px-2 font-mono text-xs text-slate-600" title={pkg.version}>
                    {pkg.version}
                  </td>
                  <td className="px-2 text-xs">
                    {pkg.fromBase ? <span className="text-slate-500">base</span> : <span className="rounded bg-brand-50 px-1.5 py-0.5 font-medium text-brand-700">layer</span>}
                  </td>
                  <td className="px-2 text-xs whitespace-nowrap">
                    <PackageState pkg={pkg} />
                    {fromScratch && <ArtefactChangesNote pkg={pkg} />}
                  </td>
                  <td className="px-2 text-right text-xs whitespace-nowrap tabular-nums text-slate-600">
                    <PackageDuration pkg={pkg} now={now} />
                  </td>
                  <td className="px-2 font-mono text-xs text-slate-600" title={a?.digest}>
                    {a ? shortDigest(a.digest) : <span className="text-slate-300">—</span>}
                  </td>
                  <td className="px-2 text-right text-xs whitespace-nowrap tabular-nums text-slate-600" title={a ? `${formatBytes(a.uncompressedSize)} uncompressed, ${a.compression}` : undefined}>
                    {a ? formatBytes(a.size) : <span className="text-slate-300">—</span>}
                  </td>
                  <td className="py-2 pr-5 pl-2 text-right text-xs whitespace-nowrap">
                    {a ? (
                      <button
                        type="button"
                        onClick={() => toggle(a.digest + pkg.position)}
                        aria-expanded={expanded}
                        aria-controls={expanded ? panelId : undefined}
                        aria-label={`${expanded ? "Hide" : "Show"} the ${a.fileCount} files of ${pkg.packageId}`}
                        className="rounded px-1.5 py-0.5 font-medium text-brand-600 tabular-nums hover:bg-brand-50 hover:underline focus:outline-none focus-visible:ring-2 focus-visible:ring-brand-500"
                      >
                        {a.fileCount} {a.fileCount === 1 ? "file" : "files"} {expanded ? "▴" : "▾"}
                      </button>
                    ) : (
                      <span className="text-slate-300">—</span>
                    )}
                  </td>
                </tr>
                {expanded && a && (
                  <tr id={panelId}>
                    <td colSpan={9} className="bg-slate-50 px-5 py-3">
                      <ArtefactFiles buildId={buildId} digest={a.digest} />
                    </td>
                  </tr>
                )}
              </Fragment>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
