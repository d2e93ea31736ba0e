import { Breadcrumb } from "@/components/ui/breadcrumb";
import Link from "next/link";
import { getDb } from "@/lib/db";
import { requirePageActor } from "@/lib/auth/current";
import { NotFoundError } from "@/lib/errors";
import { diffRevisions, listRevisions } from "@/lib/flavours/flavours";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, PageHeader } from "@/components/ui/card";
import { Field } from "@/components/ui/field";
import { oneParam, Pager } from "@/components/ui/pager";
import { loadPage } from "@/lib/api/cursor";
import { DiffView } from "@/components/flavours/diff-view";
import { loadFlavour } from "../load";

export async function generateMetadata({ params }: { params: Promise<{ id: string }> }) {
  const actor = await requirePageActor();
  const { id } = await params;
  return { title: `History of ${(await loadFlavour(actor, id)).name}` };
}

const when = (d: Date) => d.toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" });

/** Revisions per page of the table: a flavour with hundreds of revisions renders one page of them, once. */
const PAGE_SIZE = 50;

export default async function HistoryPage({
  params,
  searchParams,
}: {
  params: Promise<{ id: string }>;
  searchParams: Promise<Record<"from" | "to" | "cursor", string | string[] | undefined>>;
}) {
  const actor = await requirePageActor();
  const { id } = await params;
  const query = { from: oneParam((await searchParams).from)?.trim() || undefined, to: oneParam((await searchParams).to)?.trim() || undefined };
  const cursor = oneParam((await searchParams).cursor);
  const flavour = await loadFlavour(actor, id);
  const db = getDb();
  const { page, problem } = await loadPage((c) => listRevisions(db, actor, flavour.id, { cursor: c, limit: PAGE_SIZE }), cursor);
  const { revisions, next } = page;
  const latest = flavour.latest.number;
  // Revisions are numbered 1, 2, … with none missing: a number in that range names one (r3 is read as 3).
  const revisionNumber = (v: string) => {
    const n = Number(v.replace(/^r/i, ""));
    return Number.isInteger(n) && n >= 1 && n <= latest ? n : null;
  };

  // Wrong query values get a message and the default comparison, never an error page.
  const problems: string[] = problem ? [problem] : [];
  let to = latest;
  if (query.to !== undefined) {
    const n = revisionNumber(query.to);
    if (n !== null) to = n;
    else problems.push(`There is no revision "${query.to}" (this flavour has revisions 1 to ${latest}); showing revision ${latest}.`);
  }
  let from: number | "base" = to > 1 ? to - 1 : "base";
  if (query.from !== undefined) {
    const n = revisionNumber(query.from);
    if (query.from.toLowerCase() === "base") from = "base";
    else if (n !== null) from = n;
    else problems.push(`There is no revision "${query.from}" to compare from; comparing with ${from === "base" ? "the base" : `revision ${from}`}.`);
  }

  let comparison: Awaited<ReturnType<typeof diffRevisions>> | null = null;
  try {
    comparison = await diffRevisions(db, actor, flavour.id, from, to);
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
    problems.push(err.message);
  }

  // Comparing keeps the table on the page it is on.
  const compareLink = (f: number | "base", t: number) => `/flavours/${flavour.id}/history?from=${f}&to=${t}${cursor && !problem ? `&cursor=${encodeURIComponent(cursor)}` : ""}#diff`;
  const isShown = (n: number) => n === to || n === from;
  return (
    <>
      <Breadcrumb items={[{ label: "Flavours", href: "/flavours" }, { label: flavour.name, href: `/flavours/${flavour.id}` }, { label: "History" }]} />
      <PageHeader
        title={`History of ${flavour.name}`}
        description="Every save is an immutable, numbered revision. Compare any two, or a revision with the base it sits on."
        actions={
          <Link href={`/flavours/${flavour.id}`} className="rounded-md bg-white px-3 py-1.5 text-sm font-medium ring-1 ring-slate-300 hover:bg-slate-50">
            Edit layers
          </Link>
        }
      />
      <div className="space-y-6">
        <Card title="Revisions">
          <table className="w-full text-left text-sm">
            <thead className="text-xs uppercase text-slate-500">
              <tr>
                <th className="py-2">Revision</th>
                <th>Message</th>
                <th>Base</th>
                <th className="text-right">Layers</th>
                <th className="pl-6">Left out of the base</th>
                <th className="pl-6">Saved</th>
                <th className="text-right">Compare</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {revisions.map((r) => (
                <tr key={r.number} className={isShown(r.number) ? "bg-brand-50/50" : undefined}>
                  <td className="py-2 font-mono text-xs font-medium">r{r.number}</td>
                  <td className="max-w-sm truncate">{r.message || <span className="text-slate-400">no message</span>}</td>
                  <td>
                    <Link href={`/base-manifests/${r.base.id}`} className="hover:underline">
                      {r.base.name} {r.base.version}
                    </Link>
                  </td>
                  <td className="text-right tabular-nums">{r.layerCount}</td>
                  <td className="pl-6 font-mono text-xs">{r.excludedPackages.length ? r.excludedPackages.join(", ") : <span className="font-sans text-slate-400">nothing</span>}</td>
                  <td className="pl-6 text-slate-600">{when(r.createdAt)}</td>
                  <td className="space-x-3 text-right text-xs whitespace-nowrap">
                    {r.number > 1 && (
                      <Link href={compareLink(r.number - 1, r.number)} className="text-brand-600 hover:underline" aria-label={`Compare revision ${r.number} with revision ${r.number - 1}`}>
                        vs r{r.number - 1}
                      </Link>
                    )}
                    <Link href={compareLink("base", r.number)} className="text-brand-600 hover:underline" aria-label={`Compare revision ${r.number} with its base`}>
                      vs base
                    </Link>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager
            label="Pages of revisions"
            path={`/flavours/${flavour.id}/history`}
            filters={{ from: query.from, to: query.to }}
            next={next}
            onFirstPage={!cursor || problem !== null}
            shown={`Revisions ${revisions[0]?.number ?? 0}${revisions.length > 1 ? `–${revisions[revisions.length - 1].number}` : ""} of ${latest}`}
            firstLabel="Newest revisions"
            nextLabel="Older revisions"
          />
        </Card>

        <div id="diff" className="scroll-mt-6">
          <Card title="Compare">
            <form method="get" action={`/flavours/${flavour.id}/history`} aria-label="Compare revisions" className="mb-5 flex flex-wrap items-end gap-3">
              {/* Numbers, not lists of every revision: the table above is the one place revisions are listed. */}
              <Field label="From" name="from" defaultValue={String(from)} hint={`A revision (1–${latest}) or "base"`} className="w-48" />
              <Field label="To" name="to" type="number" min={1} max={latest} defaultValue={String(to)} hint={`A revision (1–${latest})`} className="w-48" />
              {cursor && !problem && <input type="hidden" name="cursor" value={cursor} />}
              <Button type="submit" variant="secondary">
                Compare
              </Button>
            </form>
            {problems.length > 0 && (
              <div className="mb-4">
                <Alert tone="error">
                  {problems.map((p) => (
                    <p key={p}>{p}</p>
                  ))}
                </Alert>
              </div>
            )}
            {comparison && <DiffView diff={comparison.diff} from={comparison.from} to={comparison.to} excluded={comparison.excluded} />}
          </Card>
        </div>
      </div>
    </>
  );
}
