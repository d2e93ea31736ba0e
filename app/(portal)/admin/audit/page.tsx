import { getDb } from "@/lib/db";
import { requirePageActor } from "@/lib/auth/current";
import { listAudit } from "@/lib/audit/audit";
import { Breadcrumb } from "@/components/ui/breadcrumb";
import { Card, PageHeader } from "@/components/ui/card";
import { AuditTable } from "@/components/audit/audit-table";
import { Alert } from "@/components/ui/alert";
import { oneParam, Pager } from "@/components/ui/pager";
import { loadPage } from "@/lib/api/cursor";

export const metadata = { title: "Audit log" };

export default async function AdminAuditPage({ searchParams }: { searchParams: Promise<{ cursor?: string | string[] }> }) {
  const actor = await requirePageActor("admin");
  const cursor = oneParam((await searchParams).cursor);
  const { page, problem } = await loadPage((c) => listAudit(getDb(), actor, { cursor: c, limit: 100 }), cursor);
  const { entries, next } = page;
  return (
    <>
      <Breadcrumb items={[{ label: "Admin", href: "/admin" }, { label: "Audit log" }]} />
      <PageHeader title="Audit log" description="Who changed what, in every organisation, newest first: approvals, rollouts, channel moves, tokens and devices." />
      <Card>
        {problem && (
          <div className="mb-4">
            <Alert tone="error">{problem}</Alert>
          </div>
        )}
        {entries.length === 0 ? (
          <p className="py-4 text-center text-sm text-slate-600">{cursor && !problem ? "No older entries." : "Nothing was recorded yet."}</p>
        ) : (
          <AuditTable entries={entries} now={Date.now()} caption="Audit log, newest first" showOrg />
        )}
        <Pager label="Audit log pages" path="/admin/audit" filters={{}} next={next} onFirstPage={!cursor || problem !== null} />
      </Card>
    </>
  );
}
