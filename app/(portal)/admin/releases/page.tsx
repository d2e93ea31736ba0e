import Link from "next/link";
import { getDb } from "@/lib/db";
import { requirePageActor } from "@/lib/auth/current";
import { getRelease, listReleases } from "@/lib/releases/releases";
import { Breadcrumb } from "@/components/ui/breadcrumb";
import { Card, PageHeader } from "@/components/ui/card";
import { Stat } from "@/components/ui/stat";
import { formatBytes } from "@/components/builds/format";
import { formatWhen } from "@/components/devices/format";
import { ReleaseDecisionForms } from "@/components/releases/decision-forms";
import { ReleaseDiffView } from "@/components/releases/release-diff";
import { ReleaseStatusBadge } from "@/components/releases/release-status";

export const metadata = { title: "Releases" };

/** Decided requests shown below the queue. */
const RECENT = 20;

export default async function AdminReleasesPage() {
  const actor = await requirePageActor("admin");
  const db = getDb();
  const [pending, decided] = await Promise.all([listReleases(db, actor, { status: "pending" }).then((p) => p.releases), listReleases(db, actor, { status: "decided", limit: RECENT }).then((p) => p.releases)]);
  const queue = await Promise.all(pending.map((r) => getRelease(db, actor, r.id)));
  return (
    <>
      <Breadcrumb items={[{ label: "Admin", href: "/admin" }, { label: "Releases" }]} />
      <PageHeader title="Releases" description="Release requests from every organisation, oldest first. Approving one makes it the channel's release at the rollout percentage you choose; rejecting it tells the customer why." />
      <div className="space-y-6">
        <Card title="Approval queue">
          {queue.length === 0 ? (
            <p className="py-4 text-center text-sm text-slate-600">No release waits for approval. Customers ask for one from a succeeded build&apos;s page.</p>
          ) : (
            <div className="space-y-4">
              {queue.map((r) => (
                <article key={r.id} aria-label={`Release ${r.version} of ${r.flavour.name}/${r.channel.name}`} className="space-y-4 rounded-md border border-slate-200 p-4">
                  <h3 className="text-base font-semibold">
                    <span className="font-mono">{r.version}</span> of {r.flavour.name}/
                    <Link href={`/channels/${r.channel.id}`} className="text-brand-600 hover:underline">
                      {r.channel.name}
                    </Link>
                  </h3>
                  <dl className="grid grid-cols-2 gap-4 text-sm sm:grid-cols-5">
                    <Stat label="Organisation">{r.org.name}</Stat>
                    <Stat label="Build">
                      <Link href={`/builds/${r.build.id}`} className="font-mono text-xs text-brand-600 hover:underline" aria-label={`Build ${r.build.version}`}>
                        {r.build.version}
                      </Link>
                      {r.repositoryRevision && <span className="ml-1 text-xs text-slate-500">(revision {r.repositoryRevision.number})</span>}
                    </Stat>
                    <Stat label="Image size" className="tabular-nums">
                      {formatBytes(r.imageSize)}
                    </Stat>
                    <Stat label="Requested by">{r.requestedBy ?? "a deleted user"}</Stat>
                    <Stat label="Requested">{formatWhen(r.requestedAt)}</Stat>
                  </dl>
                  {r.build.kind === "import" && (
                    <p className="rounded-md border border-violet-200 bg-violet-50 px-3 py-2 text-sm text-violet-900" data-testid="made-by-hand">
                      <span className="font-medium">Made by hand:</span> this build is an image changed outside Strata and imported from{" "}
                      <span className="font-mono text-xs break-all">{r.build.sourceReference}</span>. Its extra layers were not built from the flavour&apos;s layers;{" "}
                      <Link href={`/builds/${r.build.id}`} className="text-brand-600 hover:underline">
                        see what they change
                      </Link>{" "}
                      before approving.
                    </p>
                  )}
                  {r.notes ? <p className="text-sm whitespace-pre-line text-slate-700">{r.notes}</p> : <p className="text-sm text-slate-500 italic">No release notes.</p>}
                  <div className="rounded-md bg-slate-50 px-3 py-2">
                    <ReleaseDiffView diff={r.diff} current={r.current} />
                  </div>
                  <ReleaseDecisionForms releaseId={r.id} version={r.version} />
                </article>
              ))}
            </div>
          )}
        </Card>
        <Card title="Recently decided">
          {decided.length === 0 ? (
            <p className="text-sm text-slate-600">No request was decided yet.</p>
          ) : (
            <div className="-mx-5 overflow-x-auto">
              <table className="w-full text-left text-sm">
                <caption className="sr-only">The last {RECENT} decided release requests, newest first</caption>
                <thead className="text-xs uppercase text-slate-500">
                  <tr>
                    <th scope="col" className="py-2 pr-3 pl-5">
                      Release
                    </th>
                    <th scope="col" className="px-3">
                      Organisation
                    </th>
                    <th scope="col" className="px-3">
                      Status
                    </th>
                    <th scope="col" className="px-3">
                      Decided
                    </th>
                    <th scope="col" className="py-2 pr-5 pl-3">
                      Rollout or reason
                    </th>
                  </tr>
                </thead>
                <tbody className="divide-y divide-slate-100">
                  {decided.map((r) => (
                    <tr key={r.id} aria-label={`Release ${r.version} of ${r.flavour.name}/${r.channel.name}`} className="align-top">
                      <td className="py-2 pr-3 pl-5">
                        <span className="font-mono font-medium">{r.version}</span> of {r.flavour.name}/
                        <Link href={`/channels/${r.channel.id}`} className="text-brand-600 hover:underline">
                          {r.channel.name}
                        </Link>
                        {r.build.kind === "import" && <span className="ml-1 text-xs text-violet-800">(made by hand)</span>}
                      </td>
                      <td className="px-3 py-2">{r.org.name}</td>
                      <td className="px-3 py-2">
                        <ReleaseStatusBadge status={r.status} />
                      </td>
                      <td className="px-3 py-2 whitespace-nowrap text-slate-600">{r.decidedAt ? formatWhen(r.decidedAt) : "—"}</td>
                      <td className="py-2 pr-5 pl-3">{r.status === "rejected" ? <span className="break-words text-red-800">{r.decisionReason}</span> : `${r.rolloutPercent ?? 100} %`}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </Card>
      </div>
    </>
  );
}
