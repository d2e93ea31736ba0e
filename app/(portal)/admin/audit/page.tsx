import Link from "next/link";
import { getDb } from "@/lib/db";
import { requirePageActor } from "@/lib/auth/current";
import { listAudit } from "@/lib/audit/audit";
import { Breadcrumb } from "@/components/ui/breadcrumb";
import { Card, PageHeader } from "@/components/ui/card";
import { AuditTable } from "@/components/audit/audit-table";

export const metadata = { title: "Audit log" };

export default async function AdminAuditPage({ searchParams }: { searchParams: Promise<{ before?: string }> }) {
  const actor = await requirePageActor("admin");
  const { before } = await searchParams;
  const { entries, next } = await listAudit(getDb(), actor, { before: before && /^\d+$/.test(before) ? Number(before) : undefined, limit: 100 });
  return (
    <>
      <Breadcrumb items={[{ label: "Admin", href: "/admin" }, { label: "Audit log" }]} />
      <PageHeader title="Audit log" description="Who changed what, in every organisation, newest first: approvals, rollouts, channel moves, tokens and devices." />
      <Card>
        {entries.length === 0 ? (
          <p className="py-4 text-center text-sm text-slate-600">{before ? "No older entries." : "Nothing was recorded yet."}</p>
        ) : (
          <AuditTable entries={entries} now={Date.now()} caption="Audit log, newest first" showOrg />
        )}
        {(next !== null || before) && (
          <nav aria-label="Audit log pages" className="mt-3 flex gap-4 text-sm">
            {before && (
              <Link href="/admin/audit" className="text-brand-600 hover:underline">
                Newest
              </Link>
            )}
            {next !== null && (
              <Link href={`/admin/audit?before=${next}`} className="text-brand-600 hover:underline">
                Older
              </Link>
            )}
          </nav>
        )}
      </Card>
    </>
  );
}
