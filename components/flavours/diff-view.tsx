// What changed between two package lists: packages added, removed, changed (with a line diff each) and moved.
// No hooks, so both server pages (history, rebase) and client components can render it.
import type { DiffLine, PackagesDiff } from "@/lib/manifest/diff";
import type { PackageDefinition } from "@/lib/manifest/schema";
import { toPackageYaml } from "@/lib/manifest/yaml";

const CONTEXT = 3;
/** Whole added or removed definitions start folded when there are more than this many (e.g. a rebase onto another base). */
const FOLD_OVER = 4;

const idOf = (p: { category: string; name: string }) => `${p.category}/${p.name}`;

type Row = { kind: "line"; line: DiffLine; oldNo?: number; newNo?: number } | { kind: "skip"; count: number };

/** Keeps changed lines and CONTEXT lines around them; longer runs of unchanged lines fold into one row. */
export function foldLines(lines: DiffLine[], context = CONTEXT): Row[] {
  let oldNo = 0;
  let newNo = 0;
  const numbered = lines.map((line) => {
    if (line.kind !== "add") oldNo++;
    if (line.kind !== "del") newNo++;
    return { kind: "line" as const, line, oldNo: line.kind === "add" ? undefined : oldNo, newNo: line.kind === "del" ? undefined : newNo };
  });
  const keep = numbered.map(() => false);
  numbered.forEach((row, i) => {
    if (row.line.kind === "same") return;
    for (let j = Math.max(0, i - context); j <= Math.min(numbered.length - 1, i + context); j++) keep[j] = true;
  });
  const rows: Row[] = [];
  let skipped = 0;
  numbered.forEach((row, i) => {
    if (keep[i]) {
      if (skipped) rows.push({ kind: "skip", count: skipped });
      skipped = 0;
      rows.push(row);
    } else skipped++;
  });
  if (skipped) rows.push({ kind: "skip", count: skipped });
  return rows;
}

export function LineDiff({ lines, label }: { lines: DiffLine[]; label: string }) {
  const rows = foldLines(lines);
  return (
    <div role="group" aria-label={label} className="overflow-x-auto rounded-md border border-slate-200 bg-white font-mono text-xs leading-5">
      <table className="w-full border-collapse">
        <tbody>
          {rows.map((row, i) =>
            row.kind === "skip" ? (
              <tr key={i} className="bg-slate-50 text-slate-400">
                <td colSpan={4} className="px-3 py-0.5 text-center italic">
                  ⋯ {row.count} unchanged line{row.count === 1 ? "" : "s"}
                </td>
              </tr>
            ) : (
              <tr key={i} className={row.line.kind === "add" ? "bg-emerald-50" : row.line.kind === "del" ? "bg-red-50" : ""}>
                <td className="w-10 select-none border-r border-slate-100 px-2 text-right text-slate-400">{row.oldNo ?? ""}</td>
                <td className="w-10 select-none border-r border-slate-100 px-2 text-right text-slate-400">{row.newNo ?? ""}</td>
                <td className={`w-5 select-none text-center ${row.line.kind === "add" ? "text-emerald-700" : row.line.kind === "del" ? "text-red-700" : "text-slate-300"}`}>
                  {row.line.kind === "add" ? "+" : row.line.kind === "del" ? "−" : ""}
                </td>
                <td className="whitespace-pre pr-3">
                  {row.line.kind === "add" ? (
                    <ins className="text-emerald-900 no-underline">{row.line.text}</ins>
                  ) : row.line.kind === "del" ? (
                    <del className="text-red-900 no-underline">{row.line.text}</del>
                  ) : (
                    <span className="text-slate-700">{row.line.text}</span>
                  )}
                </td>
              </tr>
            ),
          )}
        </tbody>
      </table>
    </div>
  );
}

function wholePackage(pkg: PackageDefinition, kind: "add" | "del"): DiffLine[] {
  return toPackageYaml(pkg)
    .replace(/\n$/, "")
    .split("\n")
    .map((text) => ({ kind, text }));
}

function Section({ title, count, tone, children }: { title: string; count: number; tone: string; children: React.ReactNode }) {
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

function PackageBlock({ id, version, note, lines, label, open = true }: { id: string; version: string; note?: string; lines: DiffLine[]; label: string; open?: boolean }) {
  return (
    <details open={open} className="group rounded-md border border-slate-200">
      <summary className="flex cursor-pointer items-baseline gap-2 bg-slate-50 px-3 py-1.5 text-sm">
        <span className="font-mono font-medium">{id}</span>
        <span className="rounded bg-white px-1.5 py-0.5 font-mono text-xs text-slate-600 ring-1 ring-slate-200">{version}</span>
        {note && <span className="text-xs text-slate-500">{note}</span>}
      </summary>
      <div className="p-2">
        <LineDiff lines={lines} label={label} />
      </div>
    </details>
  );
}

/** `excluded`: base packages each side leaves out, so a left-out package reads as such rather than as deleted. */
export function DiffView({ diff, from, to, excluded }: { diff: PackagesDiff; from: string; to: string; excluded?: { from: string[]; to: string[] } }) {
  const leftOut = new Set(excluded?.to ?? []);
  const keptAgain = new Set(excluded?.from ?? []);
  const total = diff.added.length + diff.removed.length + diff.changed.length + diff.moved.length;
  const chip = (n: number, word: string, tone: string) => (
    <span className={`rounded px-1.5 py-0.5 text-xs font-medium ${n ? tone : "bg-slate-100 text-slate-500"}`}>
      {n} {word}
    </span>
  );
  return (
    <div className="space-y-5" aria-label={`Changes from ${from} to ${to}`} role="region">
      <p className="flex flex-wrap items-center gap-2 text-sm text-slate-700">
        <span>
          From <strong>{from}</strong> to <strong>{to}</strong>:
        </span>
        {chip(diff.added.length, "added", "bg-emerald-100 text-emerald-800")}
        {chip(diff.removed.length, "removed", "bg-red-100 text-red-800")}
        {chip(diff.changed.length, "changed", "bg-amber-100 text-amber-800")}
        {chip(diff.moved.length, "moved", "bg-brand-50 text-brand-700")}
        <span className="text-slate-500">· {diff.unchanged.length} unchanged</span>
      </p>
      {total === 0 && <p className="rounded-md border border-dashed border-slate-300 px-4 py-6 text-center text-sm text-slate-600">No differences: the same packages, with the same definitions, in the same order.</p>}
      <Section title="Added packages" count={diff.added.length} tone="bg-emerald-100 text-emerald-800">
        {diff.added.map((p) => (
          <PackageBlock key={idOf(p)} id={idOf(p)} version={p.version} note={keptAgain.has(idOf(p)) ? "base package kept again" : "added"} lines={wholePackage(p, "add")} label={`Definition of ${idOf(p)} (added)`} open={diff.added.length <= FOLD_OVER} />
        ))}
      </Section>
      <Section title="Removed packages" count={diff.removed.length} tone="bg-red-100 text-red-800">
        {diff.removed.map((p) => (
          <PackageBlock key={idOf(p)} id={idOf(p)} version={p.version} note={leftOut.has(idOf(p)) ? "left out of the base" : "removed"} lines={wholePackage(p, "del")} label={`Definition of ${idOf(p)} (removed)`} open={diff.removed.length <= FOLD_OVER} />
        ))}
      </Section>
      <Section title="Changed packages" count={diff.changed.length} tone="bg-amber-100 text-amber-800">
        {diff.changed.map((c) => (
          <PackageBlock
            key={c.id}
            id={c.id}
            version={c.before.version === c.after.version ? c.after.version : `${c.before.version} → ${c.after.version}`}
            note={`${c.lines.filter((l) => l.kind === "add").length} lines added, ${c.lines.filter((l) => l.kind === "del").length} removed`}
            lines={c.lines}
            label={`Line diff of ${c.id}`}
          />
        ))}
      </Section>
      <Section title="Moved packages" count={diff.moved.length} tone="bg-brand-50 text-brand-700">
        <p className="text-sm text-slate-600">These keep their definition but build at another position (after different packages), so they and everything after them rebuild.</p>
        <ul className="flex flex-wrap gap-1">
          {diff.moved.map((id) => (
            <li key={id} className="rounded bg-brand-50 px-1.5 py-0.5 font-mono text-xs text-brand-700">
              {id}
            </li>
          ))}
        </ul>
      </Section>
    </div>
  );
}
