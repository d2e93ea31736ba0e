import { getDb } from "@/lib/db";
import { requirePageActor } from "@/lib/auth/current";
import { getCacheOverview, type CachePrune } from "@/lib/builder/cache-prune";
import { Breadcrumb } from "@/components/ui/breadcrumb";
import { Card, PageHeader } from "@/components/ui/card";
import { Stat } from "@/components/ui/stat";
import { Alert } from "@/components/ui/alert";
import { PruneCacheButton } from "@/components/admin/prune-cache-button";
import { formatBytes } from "@/components/builds/format";

export const metadata = { title: "Build cache" };
export const dynamic = "force-dynamic";

const when = (d: Date | null) => (d ? d.toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" }) : "—");

function PruneSummary({ prune }: { prune: CachePrune }) {
  if (!prune.finishedAt) return <p className="text-sm text-slate-600">Started {when(prune.startedAt)} and still running.</p>;
  return (
    <>
      <dl className="grid grid-cols-2 gap-4 sm:grid-cols-4">
        <Stat label="When">{when(prune.startedAt)}</Stat>
        <Stat label="Removed from the engine">{prune.removedImages} images</Stat>
        <Stat label="Removed from the registry">{prune.removedTags} tags</Stat>
        <Stat label="Freed">{formatBytes(prune.freedBytes)}</Stat>
      </dl>
      {prune.error && (
        <div className="mt-3">
          <Alert tone="error">{prune.error}</Alert>
        </div>
      )}
    </>
  );
}

export default async function AdminCachePage() {
  const actor = await requirePageActor("admin");
  const { usage, lastPrune, recentPrunes, settings, nextDueAt } = await getCacheOverview(getDb(), actor);
  return (
    <>
      <Breadcrumb items={[{ label: "Admin", href: "/admin" }, { label: "Build cache" }]} />
      <PageHeader
        title="Build cache"
        description={`Package images the builder keeps by cache key (strata-cache:<key>). Images no build used for ${settings.maxAgeDays} days are pruned every ${settings.intervalHours} h, except those of each flavour's latest succeeded build, of released builds and of running builds.`}
      />
      <div className="grid gap-6 lg:grid-cols-2">
        <Card title="Size on the engine">
          {usage.error ? (
            <Alert tone="error">{usage.error}</Alert>
          ) : (
            <dl className="grid grid-cols-2 gap-4">
              <Stat label="Cache images" className="text-lg font-semibold tabular-nums">
                {usage.images}
              </Stat>
              <Stat label="Disk used" className="text-lg font-semibold tabular-nums" title={`${usage.bytes} bytes`}>
                {formatBytes(usage.bytes)}
              </Stat>
            </dl>
          )}
          <p className="mt-3 text-xs text-slate-500">
            Disk used counts the layers each cache image adds to the image it was built on, so layers shared along a chain of packages count once. An image
            pulled from the registry&apos;s shared cache counts whole.
          </p>
        </Card>
        <Card title="Last prune">
          {lastPrune ? <PruneSummary prune={lastPrune} /> : <p className="text-sm text-slate-600">The cache was not pruned yet. Press Prune now, or wait for the schedule.</p>}
          <p className="mt-3 text-xs text-slate-500">Next scheduled prune: {when(nextDueAt)} (or within minutes after, when a worker next looks).</p>
          <div className="mt-4">
            <PruneCacheButton maxAgeDays={settings.maxAgeDays} />
          </div>
        </Card>
      </div>
      {recentPrunes.length > 1 && (
        <Card title="Recent prunes" className="mt-6">
          <table className="w-full text-left text-sm">
            <caption className="sr-only">Recent prunes, newest first</caption>
            <thead className="text-xs uppercase text-slate-500">
              <tr>
                <th className="py-2">Started</th>
                <th>By</th>
                <th>Images</th>
                <th>Tags</th>
                <th>Freed</th>
                <th>Cache after</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {recentPrunes.map((p) => (
                <tr key={p.id}>
                  <td className="py-2">{when(p.startedAt)}</td>
                  <td className="font-mono text-xs">{p.workerId}</td>
                  <td className="tabular-nums">{p.removedImages}</td>
                  <td className="tabular-nums">{p.removedTags}</td>
                  <td className="tabular-nums">{formatBytes(p.freedBytes)}</td>
                  <td className="tabular-nums">{p.cacheImages === null ? "—" : `${p.cacheImages} images, ${formatBytes(p.cacheBytes)}`}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Card>
      )}
    </>
  );
}
