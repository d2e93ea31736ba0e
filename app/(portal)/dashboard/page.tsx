import Link from "next/link";
import { getDb } from "@/lib/db";
import { requirePageActor } from "@/lib/auth/current";
import { getOrg } from "@/lib/orgs/queries";
import { deviceCounts } from "@/lib/devices/devices";
import { countPending } from "@/lib/releases/releases";
import { isAdmin } from "@/lib/auth/roles";
import { Card, PageHeader } from "@/components/ui/card";
import { Stat } from "@/components/ui/stat";

export const metadata = { title: "Dashboard" };

export default async function DashboardPage() {
  const actor = await requirePageActor();
  const db = getDb();
  const [org, fleet, pending] = await Promise.all([getOrg(db, actor, actor.org.id), deviceCounts(db, actor), countPending(db, actor)]);
  return (
    <>
      <PageHeader title={`Welcome, ${actor.user.name}`} description={`Organisation ${org.name} (${org.slug})`} />
      <div className="grid gap-6 md:grid-cols-2">
        <Card title="Get started">
          <ol className="list-decimal space-y-2 pl-5 text-sm text-slate-700">
            <li>
              Fork the base manifest into a flavour of your own —{" "}
              <Link href="/flavours#fork" className="text-brand-600 hover:underline">
                start here
              </Link>
              .
            </li>
            <li>Add package layers: Debian packages, users, overlay files.</li>
            <li>Press Build; the OS image lands in the registry.</li>
            <li>Ask to release a succeeded build onto a channel from its page; an admin approves it.</li>
            <li>Make a registration token on the channel&apos;s page and run the agent on your devices.</li>
            <li>
              Automate with the REST API: create a token under{" "}
              <Link href="/settings/tokens" className="text-brand-600 hover:underline">
                API tokens
              </Link>
              .
            </li>
          </ol>
        </Card>
        <Card title={isAdmin(actor) ? "Fleet (every organisation)" : "Fleet"}>
          <dl className="grid grid-cols-3 gap-4 text-sm">
            <Stat label="Devices">
              <Link href="/devices" className="text-brand-600 hover:underline">
                {fleet.total}
              </Link>
            </Stat>
            <Stat label="Last upgrade failed">{fleet.failed}</Stat>
            <Stat label="Releases awaiting approval">{isAdmin(actor) ? <Link href="/admin/releases" className="text-brand-600 hover:underline">{pending}</Link> : pending}</Stat>
          </dl>
        </Card>
        <Card title="Members">
          <ul className="divide-y divide-slate-100 text-sm">
            {org.members.map((m) => (
              <li key={m.id} className="flex justify-between py-2">
                <span>
                  {m.name} <span className="text-slate-500">{m.email}</span>
                </span>
                <span className="text-slate-500">{m.role}</span>
              </li>
            ))}
          </ul>
        </Card>
      </div>
    </>
  );
}
