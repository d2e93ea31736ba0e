import { getDb } from "@/lib/db";
import { requirePageActor } from "@/lib/auth/current";
import { listOrgs } from "@/lib/orgs/queries";
import { checkHealth } from "@/lib/health";
import { countPending } from "@/lib/releases/releases";
import Link from "next/link";
import { Card, PageHeader } from "@/components/ui/card";

export const metadata = { title: "Admin" };

export default async function AdminPage() {
  const actor = await requirePageActor("admin");
  const db = getDb();
  const [orgs, health, pending] = await Promise.all([listOrgs(db, actor), checkHealth(db), countPending(db, actor)]);
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
          <table className="w-full text-left text-sm">
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
