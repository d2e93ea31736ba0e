// Audit entries as a table: when, who (a person, a device, or Strata itself), what, and what it changed, written
// compactly as `key: before → after`.
import type { AuditRow } from "@/lib/audit/audit";
import { formatAgo, formatWhen } from "../devices/format";

/** Changes a device makes itself (registering) have no person behind them; everything else without one is Strata's. */
const actorOf = (entry: AuditRow) => entry.actor ?? (entry.action.startsWith("device.") ? "device" : "Strata");

function show(value: unknown): string {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** "percent: 10 → 50", "reason: maintenance" (only after), "device: kiosk-1" (context): one line per key. */
export function describeChanges(detail: Record<string, unknown> | null): string[] {
  if (!detail) return [];
  const { before, after, ...context } = detail;
  const lines: string[] = [];
  if (isRecord(before) || isRecord(after)) {
    const from = isRecord(before) ? before : {};
    const to = isRecord(after) ? after : {};
    for (const key of new Set([...Object.keys(from), ...Object.keys(to)])) {
      if (!(key in from)) lines.push(`${key}: ${show(to[key])}`);
      else if (!(key in to)) lines.push(`${key}: ${show(from[key])} → —`);
      else if (show(from[key]) !== show(to[key])) lines.push(`${key}: ${show(from[key])} → ${show(to[key])}`);
    }
  } else if (before !== undefined || after !== undefined) {
    lines.push(`${show(before)} → ${show(after)}`);
  }
  for (const [key, value] of Object.entries(context)) lines.push(`${key}: ${show(value)}`);
  return lines;
}

export function AuditTable({ entries, now, caption, showOrg = false }: { entries: AuditRow[]; now: number; caption: string; showOrg?: boolean }) {
  return (
    <div className="-mx-5 overflow-x-auto">
      <table className="w-full text-left text-sm">
        <caption className="sr-only">{caption}</caption>
        <thead className="text-xs uppercase text-slate-500">
          <tr>
            <th scope="col" className="py-2 pr-3 pl-5">
              When
            </th>
            {showOrg && (
              <th scope="col" className="px-3">
                Organisation
              </th>
            )}
            <th scope="col" className="px-3">
              Who
            </th>
            <th scope="col" className="px-3">
              Action
            </th>
            <th scope="col" className="py-2 pr-5 pl-3">
              Change
            </th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          {entries.map((e) => (
            <tr key={e.id} className="align-top">
              <td className="py-2 pr-3 pl-5 whitespace-nowrap text-slate-600">
                <time dateTime={e.at.toISOString()} title={formatAgo(e.at, now)}>
                  {formatWhen(e.at)}
                </time>
              </td>
              {showOrg && <td className="px-3 py-2">{e.orgName ?? "—"}</td>}
              <td className={`px-3 py-2 ${e.actor ? "" : "text-slate-500 italic"}`}>{actorOf(e)}</td>
              <td className="px-3 py-2 font-mono text-xs whitespace-nowrap">{e.action}</td>
              <td className="py-2 pr-5 pl-3">
                <ul className="space-y-0.5 font-mono text-xs break-words text-slate-700">
                  {describeChanges(e.detail).map((line, i) => (
                    <li key={i}>{line}</li>
                  ))}
                </ul>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
