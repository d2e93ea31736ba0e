import Link from "next/link";
import { getDb } from "@/lib/db";
import { requirePageActor } from "@/lib/auth/current";
import { isAdmin } from "@/lib/auth/roles";
import { listBaseManifests } from "@/lib/base-manifests/base-manifests";
import { listFlavours } from "@/lib/flavours/flavours";
import { loadPage } from "@/lib/api/cursor";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, PageHeader } from "@/components/ui/card";
import { Field } from "@/components/ui/field";
import { oneParam, pageHref, Pager } from "@/components/ui/pager";
import { ForkForm } from "@/components/flavours/fork-form";
import { ImportForm } from "@/components/flavours/import-form";

export const metadata = { title: "Flavours" };

const when = (d: Date) => d.toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" });

/** Flavours per page: the page stays small however many flavours an organisation has. */
const PAGE_SIZE = 50;

type Search = Record<"archived" | "base" | "q" | "cursor", string | string[] | undefined>;

export default async function FlavoursPage({ searchParams }: { searchParams: Promise<Search> }) {
  const actor = await requirePageActor();
  const params = await searchParams;
  const archived = oneParam(params.archived) === "true";
  const base = oneParam(params.base);
  const q = oneParam(params.q)?.trim().slice(0, 100) || undefined;
  const cursor = oneParam(params.cursor);
  const db = getDb();
  const [{ page, problem }, bases] = await Promise.all([
    loadPage((c) => listFlavours(db, actor, { archived, q, cursor: c, limit: PAGE_SIZE }), cursor),
    listBaseManifests(db),
  ]);
  const { flavours, next } = page;
  const filters = { archived: archived ? "true" : undefined, q };
  const newestFirst = [...bases].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  const baseOptions = newestFirst.map((b) => ({ id: b.id, label: `${b.name} ${b.version}${newestFirst.find((n) => n.name === b.name) === b ? " (latest)" : ""} — ${b.packageCount} package${b.packageCount === 1 ? "" : "s"}` }));
  const tab = (active: boolean) =>
    `rounded-md px-3 py-1 text-sm font-medium ${active ? "bg-white text-slate-900 shadow-sm ring-1 ring-slate-200" : "text-slate-600 hover:text-slate-900"}`;
  return (
    <>
      <PageHeader
        title="Flavours"
        description="Your derivatives of the base manifest: each is a base version plus your layers, saved as numbered revisions."
      />
      <div className="space-y-6">
        <Card
          title={archived ? "Archived flavours" : "Flavours"}
          actions={
            <nav aria-label="Which flavours" className="flex gap-1 rounded-lg bg-slate-100 p-0.5">
              <Link href={pageHref("/flavours", { q })} aria-current={!archived ? "page" : undefined} className={tab(!archived)}>
                Active
              </Link>
              <Link href={pageHref("/flavours", { archived: "true", q })} aria-current={archived ? "page" : undefined} className={tab(archived)}>
                Archived
              </Link>
            </nav>
          }
        >
          <form method="get" action="/flavours" role="search" aria-label="Search flavours" className="mb-4 flex flex-wrap items-end gap-3">
            {archived && <input type="hidden" name="archived" value="true" />}
            <Field label="Name contains" name="q" type="search" defaultValue={q ?? ""} maxLength={100} className="w-64" />
            <Button type="submit" variant="secondary">
              Search
            </Button>
            {q && (
              <Link href={pageHref("/flavours", { archived: filters.archived })} className="py-2 text-sm text-brand-600 hover:underline">
                Clear search
              </Link>
            )}
          </form>
          {problem && (
            <div className="mb-4">
              <Alert tone="error">{problem}</Alert>
            </div>
          )}
          {flavours.length === 0 ? (
            q ? (
              <p className="text-sm text-slate-600">
                No {archived ? "archived " : ""}flavour has &ldquo;{q}&rdquo; in its name. Try part of the name, or clear the search.
              </p>
            ) : archived ? (
              <p className="text-sm text-slate-600">No archived flavours. Archiving a flavour (on its page) hides it here without deleting its revisions.</p>
            ) : (
              <div className="py-4 text-center text-sm text-slate-600">
                <p className="font-medium text-slate-800">No flavours yet.</p>
                <p className="mt-1">
                  Fork the base manifest below to start one — pick a version and a name — or import a flavour you exported elsewhere.
                </p>
              </div>
            )
          ) : (
            <table className="w-full text-left text-sm">
              <thead className="text-xs uppercase text-slate-500">
                <tr>
                  <th className="py-2">Name</th>
                  <th>Base</th>
                  <th>Latest revision</th>
                  <th>Updated</th>
                  {isAdmin(actor) && <th>Organisation</th>}
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100">
                {flavours.map((f) => (
                  <tr key={f.id}>
                    <td className="py-2 pr-4">
                      <Link href={`/flavours/${f.id}`} className="font-medium text-brand-600 hover:underline">
                        {f.name}
                      </Link>
                      {f.description && <p className="max-w-md truncate text-xs text-slate-500">{f.description}</p>}
                    </td>
                    <td>
                      <Link href={`/base-manifests/${f.base.id}`} className="hover:underline">
                        {f.base.name} {f.base.version}
                      </Link>
                    </td>
                    <td>
                      <Link href={`/flavours/${f.id}/history`} className="font-mono text-xs hover:underline">
                        r{f.latestRevision}
                      </Link>
                    </td>
                    <td className="text-slate-600">{when(f.updatedAt)}</td>
                    {isAdmin(actor) && <td className="font-mono text-xs text-slate-500">{f.orgId.slice(0, 8)}</td>}
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <Pager
            label="Pages of flavours"
            path="/flavours"
            filters={filters}
            next={next}
            onFirstPage={!cursor || problem !== null}
            firstLabel="Most recently changed"
            nextLabel="More flavours"
          />
        </Card>
        <div className="grid gap-6 lg:grid-cols-2">
          <div id="fork" className="scroll-mt-6">
            <Card title="Fork base manifest">
              <ForkForm bases={baseOptions} defaultBaseId={bases.some((b) => b.id === base) ? base : undefined} />
            </Card>
          </div>
          <Card title="Import a flavour">
            <ImportForm />
          </Card>
        </div>
      </div>
    </>
  );
}
