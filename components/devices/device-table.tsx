// The device inventory as a table: where each device is (flavour / channel), what it runs, how its last upgrade went.
// With `channels`, each row gets its Manage actions.
import Link from "next/link";
import type { listDevices } from "@/lib/devices/devices";
import { Badge } from "../ui/controls";
import { shortDigest } from "../builds/format";
import { DeviceActions, type ChannelChoice } from "./device-actions";
import { formatAgo, formatWhen, resultTone } from "./format";

export type DeviceRow = Awaited<ReturnType<typeof listDevices>>["devices"][number];

export function DeviceTable({
  devices,
  now,
  caption,
  channels,
}: {
  devices: DeviceRow[];
  now: number;
  caption: string;
  /** Channels a device may move to, with their organisation; omitted: a read-only table. */
  channels?: Array<ChannelChoice & { orgId: string }>;
}) {
  return (
    <div className="-mx-5 overflow-x-auto">
      <table className="w-full text-left text-sm">
        <caption className="sr-only">{caption}</caption>
        <thead className="text-xs uppercase text-slate-500">
          <tr>
            <th scope="col" className="py-2 pr-3 pl-5">
              Device
            </th>
            <th scope="col" className="px-3">
              Flavour / channel
            </th>
            <th scope="col" className="px-3">
              Last seen
            </th>
            <th scope="col" className="px-3">
              Version
            </th>
            <th scope="col" className="px-3">
              Image
            </th>
            <th scope="col" className="px-3">
              Last result
            </th>
            <th scope="col" className="px-3">
              Agent
            </th>
            {channels && (
              <th scope="col" className="py-2 pr-5 pl-3 text-right">
                <span className="sr-only">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          {devices.map((d) => (
            <tr key={d.id} aria-label={d.name} className="align-top">
              <td className="py-2.5 pr-3 pl-5">
                <span className="font-medium">{d.name}</span>
                {d.revokedAt && (
                  <span className="ml-2" title={formatWhen(d.revokedAt)}>
                    <Badge tone="red">revoked</Badge>
                  </span>
                )}
                {d.pinnedReference && (
                  <p className="mt-0.5 max-w-64 text-xs break-all text-amber-800">
                    Pinned to <code className="font-mono">{d.pinnedReference}</code>
                  </p>
                )}
              </td>
              <td className="px-3 py-2.5 whitespace-nowrap">
                <span className="text-slate-600">{d.flavour.name}</span> /{" "}
                <Link href={`/channels/${d.channel.id}`} className="text-brand-600 hover:underline">
                  {d.channel.name}
                </Link>
              </td>
              <td className="px-3 py-2.5 whitespace-nowrap text-slate-600" title={d.lastSeenAt ? `${formatWhen(d.lastSeenAt)}${d.lastAddress ? ` from ${d.lastAddress}` : ""}` : undefined}>
                {d.lastSeenAt ? formatAgo(d.lastSeenAt, now) : "never"}
              </td>
              <td className="px-3 py-2.5 font-mono text-xs">{d.currentVersion ?? <span className="font-sans text-slate-500">unknown</span>}</td>
              <td className="px-3 py-2.5 font-mono text-xs" title={d.currentDigest ?? undefined}>
                {d.currentDigest ? shortDigest(d.currentDigest) : <span className="font-sans text-slate-500">—</span>}
              </td>
              <td className="px-3 py-2.5">
                {d.lastResult ? <Badge tone={resultTone(d.lastResult)}>{d.lastResult}</Badge> : <span className="text-slate-500">no report yet</span>}
                {d.lastMessage && <p className="mt-0.5 max-w-64 text-xs break-words text-slate-600">{d.lastMessage}</p>}
              </td>
              <td className="px-3 py-2.5 font-mono text-xs text-slate-600">{d.agentVersion ?? "—"}</td>
              {channels && (
                <td className="py-2.5 pr-5 pl-3 text-right">
                  {!d.revokedAt && (
                    <DeviceActions
                      id={d.id}
                      name={d.name}
                      pinnedReference={d.pinnedReference}
                      channels={channels.filter((c) => c.orgId === d.orgId && c.id !== d.channel.id).map(({ id, label }) => ({ id, label }))}
                    />
                  )}
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
