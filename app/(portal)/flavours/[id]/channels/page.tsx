import Link from "next/link";
import { getDb } from "@/lib/db";
import { requirePageActor } from "@/lib/auth/current";
import { listChannels } from "@/lib/channels/channels";
import { Breadcrumb } from "@/components/ui/breadcrumb";
import { Card, PageHeader } from "@/components/ui/card";
import { Badge } from "@/components/ui/controls";
import { NewChannelForm } from "@/components/channels/new-channel-form";
import { ChannelStateBadge } from "@/components/channels/state-badge";
import { loadFlavour } from "../load";

export async function generateMetadata({ params }: { params: Promise<{ id: string }> }) {
  const actor = await requirePageActor();
  const { id } = await params;
  return { title: `Channels of ${(await loadFlavour(actor, id)).name}` };
}

export default async function ChannelsPage({ params }: { params: Promise<{ id: string }> }) {
  const actor = await requirePageActor();
  const { id } = await params;
  const flavour = await loadFlavour(actor, id);
  const { channels } = await listChannels(getDb(), actor, flavour.id);
  const link = "rounded-md bg-white px-3 py-1.5 text-sm font-medium text-slate-800 ring-1 ring-slate-300 hover:bg-slate-50";
  return (
    <>
      <Breadcrumb items={[{ label: "Flavours", href: "/flavours" }, { label: flavour.name, href: `/flavours/${flavour.id}` }, { label: "Channels" }]} />
      <PageHeader
        title={`Channels of ${flavour.name}`}
        description="A channel is a stream of releases that devices follow. Ask for a release on a build's page; once an admin approves it, the channel's devices upgrade."
        actions={
          <Link href={`/flavours/${flavour.id}/builds`} className={link}>
            Builds
          </Link>
        }
      />
      <div className="grid gap-6 lg:grid-cols-3">
        <Card title="Channels" className="lg:col-span-2">
          {channels.length === 0 ? (
            <p className="py-6 text-center text-sm text-slate-600">This flavour has no channel yet. Create one with the form beside this list.</p>
          ) : (
            <div className="-mx-5 overflow-x-auto">
              <table className="w-full text-left text-sm">
                <caption className="sr-only">Channels of {flavour.name}</caption>
                <thead className="text-xs uppercase text-slate-500">
                  <tr>
                    <th scope="col" className="py-2 pr-3 pl-5">
                      Channel
                    </th>
                    <th scope="col" className="px-3">
                      Release
                    </th>
                    <th scope="col" className="px-3 text-right">
                      Rollout
                    </th>
                    <th scope="col" className="px-3">
                      State
                    </th>
                    <th scope="col" className="px-3 text-right">
                      Devices
                    </th>
                    <th scope="col" className="py-2 pr-5 pl-3 text-right">
                      Pending requests
                    </th>
                  </tr>
                </thead>
                <tbody className="divide-y divide-slate-100">
                  {channels.map((c) => (
                    <tr key={c.id}>
                      <td className="py-2.5 pr-3 pl-5">
                        <Link href={`/channels/${c.id}`} className="font-medium text-brand-600 hover:underline">
                          {c.name}
                        </Link>
                        {c.description && <p className="text-xs text-slate-500">{c.description}</p>}
                      </td>
                      <td className="px-3 font-mono text-xs">{c.releaseVersion ?? <span className="font-sans text-slate-500">none yet</span>}</td>
                      <td className="px-3 text-right tabular-nums">{c.releaseId ? `${c.rolloutPercent} %` : "—"}</td>
                      <td className="px-3">
                        <ChannelStateBadge pausedAt={c.pausedAt} haltedAt={c.haltedAt} />
                      </td>
                      <td className="px-3 text-right tabular-nums">{c.devices}</td>
                      <td className="py-2.5 pr-5 pl-3 text-right tabular-nums">{c.pending > 0 ? <Badge tone="amber">{c.pending} pending</Badge> : <span className="text-slate-500">0</span>}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </Card>
        <Card title="New channel">
          <NewChannelForm flavourId={flavour.id} />
        </Card>
      </div>
    </>
  );
}
