// What changed between two repository revisions: size, packages added, removed and changed (each with its file
// changes, folded in <details>), and the Debian packages of the image. No hooks: the diff page renders it on the server.
import Link from "next/link";
import type { ReactNode } from "react";
import type { FileChange } from "@/lib/repository/diff";
import type { diffFlavourRevisions } from "@/lib/repository/queries";
import type { DebianPackage, IndexPackage, RepositoryFile } from "@/lib/repository/types";
import { formatBytes } from "../builds/format";
import { FILE_TYPE_LABEL, deltaTone, formatOctal, formatSizeDelta, packagePath, type FilePage } from "./format";

export type RevisionDiff = Awaited<ReturnType<typeof diffFlavourRevisions>>;
type ChangedPackage = RevisionDiff["packages"]["changed"][number];

/** Whole packages start folded when there are more than this many in one section. */
const FOLD_OVER = 4;

const idOf = (p: { category: string; name: string }) => `${p.category}/${p.name}`;

function Section({ title, count, tone, children }: { title: string; count: number; tone: string; children: ReactNode }) {
  if (count === 0) return null;
  return (
    <section aria-label={title} className="space-y-2">
      <h3 className="flex items-center gap-2 text-sm font-semibold text-slate-800">
        <span className={`inline-flex h-5 min-w-5 items-center justify-center rounded px-1 text-xs ${tone}`}>{count}</span>
        {title}
      </h3>
      {children}
    </section>
  );
}

function Delta({ bytes, label }: { bytes: number; label?: string }) {
  return (
    <span className={`tabular-nums ${deltaTone(bytes)}`}>
      {formatSizeDelta(bytes)}
      {label && <span className="text-slate-500"> {label}</span>}
    </span>
  );
}

function Chip({ n, word, tone }: { n: number; word: string; tone: string }) {
  return <span className={`rounded px-1.5 py-0.5 text-xs font-medium ${n ? tone : "bg-slate-100 text-slate-500"}`}>{`${n} ${word}`}</span>;
}

const ADD_ROW = "bg-emerald-50";
const DEL_ROW = "bg-red-50";

/** What a changed file's change is, in words: "size 10 B → 12 B", "mode 0644 → 0755", "content". */
function describeChange(change: FileChange): string[] {
  const { from, to } = change;
  return change.changes.map((kind) => {
    switch (kind) {
      case "type":
        return `type ${FILE_TYPE_LABEL[from.type] ?? from.type} → ${FILE_TYPE_LABEL[to.type] ?? to.type}`;
      case "size":
        return `size ${formatBytes(from.size)} → ${formatBytes(to.size)}`;
      case "mode":
        return `mode ${formatOctal(from.mode)} → ${formatOctal(to.mode)}`;
      case "target":
        return `target ${from.target ?? "none"} → ${to.target ?? "none"}`;
      case "content":
        return "content";
    }
  });
}

function FileRowCells({ file }: { file: RepositoryFile }) {
  return (
    <>
      <td className="px-2 font-sans whitespace-nowrap text-slate-600">{FILE_TYPE_LABEL[file.type] ?? file.type}</td>
      <td className="px-2 text-right whitespace-nowrap tabular-nums text-slate-600">{file.type === "file" ? formatBytes(file.size) : ""}</td>
      <td className="px-2 text-slate-600">{formatOctal(file.mode)}</td>
    </>
  );
}

/** Added (+) and removed (−) files, then changed (~) ones with what changed. */
function FileChanges({ label, added = [], removed = [], changed = [] }: { label: string; added?: RepositoryFile[]; removed?: RepositoryFile[]; changed?: FileChange[] }) {
  if (added.length + removed.length + changed.length === 0) return null;
  return (
    <div className="max-h-96 overflow-auto rounded-md border border-slate-200 bg-white">
      <table className="w-full text-left font-mono text-xs leading-5">
        <caption className="sr-only">{label}</caption>
        <thead className="sticky top-0 bg-slate-50 font-sans text-slate-500">
          <tr>
            <th scope="col" className="w-5 px-2 py-1">
              <span className="sr-only">Change</span>
            </th>
            <th scope="col" className="px-2 py-1 font-medium">
              Path
            </th>
            <th scope="col" className="px-2 py-1 font-medium">
              Type
            </th>
            <th scope="col" className="px-2 py-1 text-right font-medium">
              Size
            </th>
            <th scope="col" className="px-2 py-1 font-medium">
              Mode
            </th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          {added.map((f) => (
            <tr key={`+${f.path}`} className={ADD_ROW}>
              <td className="px-2 text-center text-emerald-700">
                <span aria-hidden>+</span>
                <span className="sr-only">added</span>
              </td>
              <td className="px-2 break-all">
                <ins className="text-emerald-900 no-underline">{f.path}</ins>
                {f.target && <span className="text-slate-500">{` ${f.type === "symlink" ? "→" : "="} ${f.target}`}</span>}
              </td>
              <FileRowCells file={f} />
            </tr>
          ))}
          {removed.map((f) => (
            <tr key={`-${f.path}`} className={DEL_ROW}>
              <td className="px-2 text-center text-red-700">
                <span aria-hidden>−</span>
                <span className="sr-only">removed</span>
              </td>
              <td className="px-2 break-all">
                <del className="text-red-900 no-underline">{f.path}</del>
                {f.target && <span className="text-slate-500">{` ${f.type === "symlink" ? "→" : "="} ${f.target}`}</span>}
              </td>
              <FileRowCells file={f} />
            </tr>
          ))}
          {changed.map((c) => (
            <tr key={`~${c.path}`} className="bg-amber-50/60">
              <td className="px-2 text-center text-amber-700">
                <span aria-hidden>~</span>
                <span className="sr-only">changed</span>
              </td>
              <td className="px-2 break-all text-slate-800">
                {c.path}
                <span className="ml-2 font-sans text-amber-800">{describeChange(c).join(", ")}</span>
              </td>
              <FileRowCells file={c.to} />
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** A whole package added or removed: its identity, size and (the first page of) its files. */
function WholePackage({ pkg, kind, revision, href, files, open }: { pkg: IndexPackage; kind: "added" | "removed"; revision: number; href: string; files: FilePage | undefined; open: boolean }) {
  const id = idOf(pkg);
  const sign = kind === "added" ? 1 : -1;
  return (
    <details open={open} className="rounded-md border border-slate-200">
      <summary className="flex cursor-pointer flex-wrap items-baseline gap-2 bg-slate-50 px-3 py-1.5 text-sm">
        <span className={`font-mono font-medium ${kind === "added" ? "text-emerald-800" : "text-red-800"}`}>{id}</span>
        <span className="rounded bg-white px-1.5 py-0.5 font-mono text-xs text-slate-600 ring-1 ring-slate-200">{pkg.version}</span>
        <span className="text-xs text-slate-500">
          {kind} · {pkg.fromBase ? "base" : "layer"} · <Delta bytes={sign * pkg.artefact.size} /> · {pkg.artefact.fileCount} {pkg.artefact.fileCount === 1 ? "file" : "files"}
        </span>
      </summary>
      <div className="space-y-2 p-2">
        {pkg.description && <p className="px-1 text-sm text-slate-600">{pkg.description}</p>}
        {files === undefined ? (
          <p className="px-1 text-sm text-slate-600">The file list could not be read.</p>
        ) : files.total === 0 ? (
          <p className="px-1 text-sm text-slate-600">It has no files.</p>
        ) : (
          <FileChanges label={`Files of ${id} (${kind})`} added={kind === "added" ? files.files : []} removed={kind === "removed" ? files.files : []} />
        )}
        <p className="px-1 text-xs text-slate-500">
          {files && files.total > files.files.length && `${files.files.length} of ${files.total} files shown. `}
          <Link href={href} className="text-brand-600 hover:underline">
            Open {id} in revision {revision}
          </Link>
        </p>
      </div>
    </details>
  );
}

function ChangedPackageBlock({ change, href, open }: { change: ChangedPackage; href: string; open: boolean }) {
  const { from, to, files } = change;
  const id = change.key;
  return (
    <details open={open} className="rounded-md border border-slate-200">
      <summary className="flex cursor-pointer flex-wrap items-baseline gap-2 bg-slate-50 px-3 py-1.5 text-sm">
        <span className="font-mono font-medium">{id}</span>
        <span className="rounded bg-white px-1.5 py-0.5 font-mono text-xs text-slate-600 ring-1 ring-slate-200">
          {change.versionChanged ? `${from.version} → ${to.version}` : to.version}
        </span>
        <span className="text-xs text-slate-500">
          <Delta bytes={change.sizeDelta} />
          {files && (
            <>
              {" · "}
              <span className="text-emerald-700">+{files.counts.added}</span> <span className="text-red-700">−{files.counts.removed}</span>{" "}
              <span className="text-amber-700">~{files.counts.changed}</span> files
            </>
          )}
        </span>
      </summary>
      <div className="space-y-2 p-2 text-sm">
        <dl className="grid grid-cols-[9rem_1fr] gap-x-3 gap-y-0.5 px-1 text-xs">
          <dt className="text-slate-500">Artefact size</dt>
          <dd className="tabular-nums">
            {formatBytes(from.artefact.size)} → {formatBytes(to.artefact.size)} (<Delta bytes={change.sizeDelta} />)
          </dd>
          <dt className="text-slate-500">Unpacked</dt>
          <dd className="tabular-nums">
            {formatBytes(from.artefact.uncompressedSize)} → {formatBytes(to.artefact.uncompressedSize)} (<Delta bytes={change.uncompressedSizeDelta} />)
          </dd>
          <dt className="text-slate-500">Files</dt>
          <dd className="tabular-nums">
            {from.artefact.fileCount} → {to.artefact.fileCount}
          </dd>
        </dl>
        {files === null ? (
          <p className="px-1 text-slate-600">Same artefact in both revisions: not a byte of its files changed{change.versionChanged ? ", only the version it is labelled with" : ""}.</p>
        ) : files.counts.added + files.counts.removed + files.counts.changed === 0 ? (
          <p className="px-1 text-slate-600">The artefact was rebuilt, but every file has the same path, type, size, mode, link target and (where recorded) content.</p>
        ) : (
          <>
            <FileChanges label={`File changes of ${id}`} added={files.added} removed={files.removed} changed={files.changed} />
            {files.truncated && (
              <p className="px-1 text-xs text-amber-800">
                Only the first {Math.max(files.added.length, files.removed.length, files.changed.length)} of each kind are listed; the counts above are complete.
              </p>
            )}
          </>
        )}
        <p className="px-1 text-xs">
          <Link href={href} className="text-brand-600 hover:underline">
            Open {id}
          </Link>
        </p>
      </div>
    </details>
  );
}

function DebianList({ title, packages, kind }: { title: string; packages: DebianPackage[]; kind: "added" | "removed" }) {
  if (packages.length === 0) return null;
  return (
    <div>
      <h4 className="mb-1 text-xs font-medium text-slate-700">
        {title} ({packages.length})
      </h4>
      <ul className="flex flex-wrap gap-1 font-mono text-xs">
        {packages.map((p) => (
          <li key={`${p.name}:${p.architecture}`} className={`rounded px-1.5 py-0.5 ${kind === "added" ? "bg-emerald-50 text-emerald-900" : "bg-red-50 text-red-900"}`}>
            {kind === "added" ? "+" : "−"} {p.name} {p.version}
            <span className="text-slate-500"> {p.architecture}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}

export function RepositoryDiffView({
  diff,
  flavourId,
  addedFiles,
  removedFiles,
}: {
  diff: RevisionDiff;
  flavourId: string;
  /** The first page of each added package's files (in `to`), by "category/name". */
  addedFiles: Record<string, FilePage>;
  /** The first page of each removed package's files (in `from`), by "category/name". */
  removedFiles: Record<string, FilePage>;
}) {
  const { packages, debianPackages: debian } = diff;
  const from = diff.from.number;
  const to = diff.to.number;
  const totalPackages = packages.added.length + packages.removed.length + packages.changed.length;
  const totalDebian = debian.added.length + debian.removed.length + debian.changed.length;
  return (
    <div className="space-y-5" role="region" aria-label={`Changes from revision ${from} to revision ${to}`}>
      <div className="space-y-2 text-sm text-slate-700">
        <p className="flex flex-wrap items-center gap-2">
          <span>
            From <strong>revision {from}</strong> <span className="font-mono text-xs text-slate-500">({diff.from.version})</span> to <strong>revision {to}</strong>{" "}
            <span className="font-mono text-xs text-slate-500">({diff.to.version})</span>:
          </span>
          <Chip n={packages.added.length} word="added" tone="bg-emerald-100 text-emerald-800" />
          <Chip n={packages.removed.length} word="removed" tone="bg-red-100 text-red-800" />
          <Chip n={packages.changed.length} word="changed" tone="bg-amber-100 text-amber-800" />
          <span className="text-slate-500">· {packages.unchanged} unchanged</span>
        </p>
        <dl className="grid grid-cols-2 gap-4 rounded-md border border-slate-200 bg-slate-50 px-4 py-2 sm:grid-cols-4">
          <div>
            <dt className="text-xs text-slate-500">Size change (compressed)</dt>
            <dd className="font-medium" data-testid="size-delta">
              <Delta bytes={packages.sizeDelta} />
            </dd>
          </div>
          <div>
            <dt className="text-xs text-slate-500">Unpacked</dt>
            <dd className="font-medium">
              <Delta bytes={packages.uncompressedSizeDelta} />
            </dd>
          </div>
          <div>
            <dt className="text-xs text-slate-500">Repository size</dt>
            <dd className="tabular-nums">
              {formatBytes(diff.from.size)} → {formatBytes(diff.to.size)}
            </dd>
          </div>
          <div>
            <dt className="text-xs text-slate-500">Packages</dt>
            <dd className="tabular-nums">
              {diff.from.packageCount} → {diff.to.packageCount}
            </dd>
          </div>
        </dl>
      </div>
      {totalPackages === 0 && (
        <p className="rounded-md border border-dashed border-slate-300 px-4 py-6 text-center text-sm text-slate-600">
          The same packages with the same artefacts: not a file differs between these revisions{totalDebian ? "" : ", nor a Debian package"}.
        </p>
      )}
      <Section title="Added packages" count={packages.added.length} tone="bg-emerald-100 text-emerald-800">
        {packages.added.map((p) => (
          <WholePackage key={idOf(p)} pkg={p} kind="added" revision={to} href={packagePath(flavourId, to, p)} files={addedFiles[idOf(p)]} open={packages.added.length <= FOLD_OVER} />
        ))}
      </Section>
      <Section title="Removed packages" count={packages.removed.length} tone="bg-red-100 text-red-800">
        {packages.removed.map((p) => (
          <WholePackage key={idOf(p)} pkg={p} kind="removed" revision={from} href={packagePath(flavourId, from, p)} files={removedFiles[idOf(p)]} open={packages.removed.length <= FOLD_OVER} />
        ))}
      </Section>
      <Section title="Changed packages" count={packages.changed.length} tone="bg-amber-100 text-amber-800">
        {packages.changed.map((c) => (
          <ChangedPackageBlock key={c.key} change={c} href={packagePath(flavourId, to, c.to)} open={packages.changed.length <= FOLD_OVER} />
        ))}
      </Section>
      <section aria-label="Debian packages" className="space-y-2">
        <h3 className="flex items-center gap-2 text-sm font-semibold text-slate-800">
          <span className="inline-flex h-5 min-w-5 items-center justify-center rounded bg-slate-100 px-1 text-xs text-slate-700">{totalDebian}</span>
          Debian packages
        </h3>
        {totalDebian === 0 ? (
          <p className="text-sm text-slate-600">The image holds the same Debian packages, at the same versions.</p>
        ) : (
          <div className="space-y-3">
            <DebianList title="Installed" packages={debian.added} kind="added" />
            <DebianList title="No longer installed" packages={debian.removed} kind="removed" />
            {debian.changed.length > 0 && (
              <div>
                <h4 className="mb-1 text-xs font-medium text-slate-700">Other version ({debian.changed.length})</h4>
                <table className="text-left font-mono text-xs">
                  <caption className="sr-only">Debian packages at another version</caption>
                  <thead className="font-sans text-slate-500">
                    <tr>
                      <th scope="col" className="py-1 pr-4 font-medium">
                        Package
                      </th>
                      <th scope="col" className="pr-4 font-medium">
                        Before
                      </th>
                      <th scope="col" className="font-medium">
                        After
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {debian.changed.map((c) => (
                      <tr key={`${c.name}:${c.architecture}`}>
                        <td className="py-0.5 pr-4">
                          {c.name}
                          <span className="text-slate-500">:{c.architecture}</span>
                        </td>
                        <td className="pr-4">
                          <del className="bg-red-50 px-1 text-red-900 no-underline">{c.from}</del>
                        </td>
                        <td>
                          <ins className="bg-emerald-50 px-1 text-emerald-900 no-underline">{c.to}</ins>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </div>
        )}
      </section>
    </div>
  );
}
