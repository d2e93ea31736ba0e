import { getDb } from "@/lib/db";
import { requirePageActor } from "@/lib/auth/current";
import { listOrgs } from "@/lib/orgs/queries";
import { checkHealth } from "@/lib/health";
import { countPending } from "@/lib/releases/releases";
import Link from "next/link";
import { Card, PageHeader } from "@/components/ui/card";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Field } from "@/components/ui/field";
import { oneParam, Pager } from "@/components/ui/pager";
import { loadPage } from "@/lib/api/cursor";

/** Organisations per page: the list grows with every customer. */
const ORGS_PER_PAGE = 50;

export const metadata = { title: "Admin" };

export default async function AdminPage({ searchParams }: { searchParams: Promise<Record<"q" | "cursor", string | string[] | undefined>> }) {
  const actor = await requirePageActor("admin");
  const db = getDb();
  const search = await searchParams;
  const q = oneParam(search.q)?.trim().slice(0, 100) || undefined;
  const cursor = oneParam(search.cursor);
  const [{ page: orgPage, problem }, health, pending] = await Promise.all([
    loadPage((c) => listOrgs(db, actor, { q, cursor: c, limit: ORGS_PER_PAGE }), cursor),
    checkHealth(db),
    countPending(db, actor),
  ]);
  const orgs = orgPage.orgs;
  const link = "rounded-md bg-white px-3 py-1.5 text-sm font-medium text-slate-800 ring-1 ring-slate-300 hover:bg-slate-50";
  return (
    <>
      <PageHeader
        title="Admin"
        description="Every organisation on this Strata, and the state of the parts it runs on."
        actions={
          <nav aria-label="Admin" className="flex flex-wrap gap-2">
            <Link href="/admin/releases" className={link}>
              Release requests{pending > 0 ? ` (${pending} pending)` : ""}
            </Link>
            <Link href="/admin/audit" className={link}>
              Audit log
            </Link>
            <Link href="/admin/cache" className={link}>
              Build cache
            </Link>
          </nav>
        }
      />
      <div className="grid gap-6 lg:grid-cols-3">
        <Card title="Organisations" className="lg:col-span-2">
          <form method="get" action="/admin" role="search" aria-label="Search organisations" className="mb-4 flex flex-wrap items-end gap-3">
            <Field label="Name or slug contains" name="q" type="search" defaultValue={q ?? ""} maxLength={100} className="w-64" />
            <Button type="submit" variant="secondary">
              Search
            </Button>
            {q && (
              <Link href="/admin" className="py-2 text-sm text-brand-600 hover:underline">
                Clear search
              </Link>
            )}
          </form>
          {problem && (
            <div className="mb-4">
              <Alert tone="error">{problem}</Alert>
            </div>
          )}
          {q && orgs.length === 0 && <p className="text-sm text-slate-600">No organisation has &ldquo;{q}&rdquo; in its name or slug. Try part of the name, or clear the search.</p>}
          <table className="w-full text-left text-sm" aria-label="Organisations">
            <thead className="text-xs uppercase text-slate-500">
              <tr>
                <th className="py-2">Name</th>
                <th>Slug</th>
                <th>Members</th>
                <th>Created</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {orgs.map((o) => (
                <tr key={o.id}>
                  <td className="py-2 font-medium">{o.name}</td>
                  <td className="font-mono text-xs">{o.slug}</td>
                  <td>{o.members}</td>
                  <td>{o.createdAt.toLocaleDateString()}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager label="Pages of organisations" path="/admin" filters={{ q }} next={orgPage.next} onFirstPage={!cursor || problem !== null} firstLabel="First organisations" nextLabel="More organisations" />
        </Card>
        <Card title="Health">
          <dl className="space-y-3 text-sm">
            {(["database", "docker", "registry"] as const).map((part) => (
              <div key={part}>
                <dt className="font-medium capitalize">
                  <span aria-hidden className={`mr-2 inline-block h-2 w-2 rounded-full ${health[part].ok ? "bg-emerald-500" : "bg-red-500"}`} />
                  {part}
                </dt>
                <dd className="text-slate-600">{health[part].detail}</dd>
              </div>
            ))}
          </dl>
        </Card>
      </div>
    </>
  );
}
