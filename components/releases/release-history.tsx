// Every release asked for on a channel, newest first: its status, build, rollout and the admin's decision.
import Link from "next/link";
import type { getChannel } from "@/lib/channels/channels";
import { Badge } from "../ui/controls";
import { formatBytes } from "../builds/format";
import { formatWhen } from "../devices/format";
import { ReleaseStatusBadge } from "./release-status";

type HistoryRow = Awaited<ReturnType<typeof getChannel>>["history"][number];

export function ReleaseHistory({ history, currentId, previousId }: { history: HistoryRow[]; currentId: string | null; previousId: string | null }) {
  return (
    <div className="-mx-5 overflow-x-auto">
      <table className="w-full text-left text-sm">
        <caption className="sr-only">Releases of this channel, newest first</caption>
        <thead className="text-xs uppercase text-slate-500">
          <tr>
            <th scope="col" className="py-2 pr-3 pl-5">
              Version
            </th>
            <th scope="col" className="px-3">
              Status
            </th>
            <th scope="col" className="px-3">
              Build
            </th>
            <th scope="col" className="px-3 text-right">
              Image
            </th>
            <th scope="col" className="px-3 text-right">
              Rollout
            </th>
            <th scope="col" className="px-3">
              Requested
            </th>
            <th scope="col" className="py-2 pr-5 pl-3">
              Decided
            </th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          {history.map((r) => (
            <tr key={r.id} aria-label={`Release ${r.version}`} className="align-top">
              <td className="py-2.5 pr-3 pl-5">
                <span className="font-mono font-medium">{r.version}</span>
                {r.id === currentId && (
                  <span className="ml-2">
                    <Badge tone="brand">current</Badge>
                  </span>
                )}
                {r.id === previousId && (
                  <span className="ml-2">
                    <Badge>previous</Badge>
                  </span>
                )}
                {r.notes && <p className="mt-0.5 max-w-md text-xs whitespace-pre-line text-slate-600">{r.notes}</p>}
              </td>
              <td className="px-3 py-2.5">
                <ReleaseStatusBadge status={r.status} />
              </td>
              <td className="px-3 py-2.5">
                <Link href={`/builds/${r.build.id}`} className="font-mono text-xs text-brand-600 hover:underline" aria-label={`Build ${r.build.version}`}>
                  {r.build.version}
                </Link>
                {r.build.kind === "import" && (
                  <span className="ml-1 text-xs text-violet-800" title={r.build.sourceReference ?? undefined}>
                    made by hand
                  </span>
                )}
              </td>
              <td className="px-3 py-2.5 text-right whitespace-nowrap tabular-nums">{formatBytes(r.imageSize)}</td>
              <td className="px-3 py-2.5 text-right tabular-nums">{r.rolloutPercent === null ? "—" : `${r.rolloutPercent} %`}</td>
              <td className="px-3 py-2.5 whitespace-nowrap text-slate-600">{formatWhen(r.requestedAt)}</td>
              <td className="py-2.5 pr-5 pl-3 text-slate-600">
                {r.decidedAt ? <span className="whitespace-nowrap">{formatWhen(r.decidedAt)}</span> : "—"}
                {r.decisionReason && <p className="mt-0.5 max-w-xs text-xs break-words text-red-800">{r.decisionReason}</p>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
