import { Breadcrumb } from "@/components/ui/breadcrumb";
import Link from "next/link";
import { getDb } from "@/lib/db";
import { requirePageActor } from "@/lib/auth/current";
import { NotFoundError } from "@/lib/errors";
import { diffRevisions, listRevisions } from "@/lib/flavours/flavours";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, PageHeader } from "@/components/ui/card";
import { SelectField } from "@/components/ui/controls";
import { DiffView } from "@/components/flavours/diff-view";
import { loadFlavour } from "../load";

export async function generateMetadata({ params }: { params: Promise<{ id: string }> }) {
  const actor = await requirePageActor();
  const { id } = await params;
  return { title: `History of ${(await loadFlavour(actor, id)).name}` };
}

const when = (d: Date) => d.toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" });

export default async function HistoryPage({ params, searchParams }: { params: Promise<{ id: string }>; searchParams: Promise<{ from?: string; to?: string }> }) {
  const actor = await requirePageActor();
  const { id } = await params;
  const query = await searchParams;
  const flavour = await loadFlavour(actor, id);
  const db = getDb();
  const revisions = await listRevisions(db, actor, flavour.id);
  const numbers = new Set(revisions.map((r) => r.number));
  const latest = flavour.latest.number;

  // Wrong query values get a message and the default comparison, never an error page.
  const problems: string[] = [];
  let to = latest;
  if (query.to !== undefined) {
    const n = Number(query.to);
    if (Number.isInteger(n) && numbers.has(n)) to = n;
    else problems.push(`There is no revision "${query.to}"; showing revision ${latest}.`);
  }
  let from: number | "base" = to > 1 ? to - 1 : "base";
  if (query.from !== undefined) {
    const n = Number(query.from);
    if (query.from === "base") from = "base";
    else if (Number.isInteger(n) && numbers.has(n)) from = n;
    else problems.push(`There is no revision "${query.from}" to compare from; comparing with ${from === "base" ? "the base" : `revision ${from}`}.`);
  }

  let comparison: Awaited<ReturnType<typeof diffRevisions>> | null = null;
  try {
    comparison = await diffRevisions(db, actor, flavour.id, from, to);
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
    problems.push(err.message);
  }

  const compareLink = (f: number | "base", t: number) => `/flavours/${flavour.id}/history?from=${f}&to=${t}#diff`;
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
        </Card>

        <div id="diff" className="scroll-mt-6">
          <Card title="Compare">
            <form method="get" action={`/flavours/${flavour.id}/history`} aria-label="Compare revisions" className="mb-5 flex flex-wrap items-end gap-3">
              <SelectField label="From" name="from" defaultValue={String(from)} className="w-56">
                <option value="base">Its base manifest</option>
                {revisions.map((r) => (
                  <option key={r.number} value={r.number}>
                    Revision {r.number}
                    {r.message ? ` — ${r.message.slice(0, 40)}` : ""}
                  </option>
                ))}
              </SelectField>
              <SelectField label="To" name="to" defaultValue={String(to)} className="w-56">
                {revisions.map((r) => (
                  <option key={r.number} value={r.number}>
                    Revision {r.number}
                    {r.message ? ` — ${r.message.slice(0, 40)}` : ""}
                  </option>
                ))}
              </SelectField>
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
