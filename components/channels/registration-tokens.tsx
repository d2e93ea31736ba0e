// The channel's registration tokens: what each allows (uses, expiry), when it was last used, and revoking it.
import type { listRegistrationTokens } from "@/lib/devices/registration-tokens";
import { Badge } from "../ui/controls";
import { formatAgo, formatWhen } from "../devices/format";
import { RevokeTokenButton } from "./registration-token-form";

type TokenRow = Awaited<ReturnType<typeof listRegistrationTokens>>[number];

function Expiry({ token, now }: { token: TokenRow; now: number }) {
  if (!token.expiresAt) return <span className="text-slate-500">never</span>;
  const expired = token.expiresAt.getTime() <= now;
  return (
    <span title={formatWhen(token.expiresAt)}>
      {formatWhen(token.expiresAt)} {expired && !token.revokedAt && <Badge tone="amber">expired</Badge>}
    </span>
  );
}

export function RegistrationTokenTable({ tokens, now }: { tokens: TokenRow[]; now: number }) {
  if (tokens.length === 0) return <p className="text-sm text-slate-600">No registration tokens yet. Create one above, then run the agent on a device with it.</p>;
  return (
    <div className="-mx-5 overflow-x-auto">
      <table className="w-full text-left text-sm">
        <caption className="sr-only">Registration tokens of this channel, newest first</caption>
        <thead className="text-xs uppercase text-slate-500">
          <tr>
            <th scope="col" className="py-2 pr-3 pl-5">
              Name
            </th>
            <th scope="col" className="px-3">
              Token
            </th>
            <th scope="col" className="px-3 text-right">
              Uses
            </th>
            <th scope="col" className="px-3">
              Expires
            </th>
            <th scope="col" className="px-3">
              Last used
            </th>
            <th scope="col" className="py-2 pr-5 pl-3 text-right">
              <span className="sr-only">State</span>
            </th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          {tokens.map((t) => {
            const usedUp = t.maxUses !== null && t.uses >= t.maxUses;
            return (
              <tr key={t.id}>
                <td className="py-2 pr-3 pl-5 font-medium">{t.name}</td>
                <td className="px-3 font-mono text-xs">{t.prefix}…</td>
                <td className="px-3 text-right whitespace-nowrap tabular-nums">
                  {t.uses} / {t.maxUses ?? "∞"} {usedUp && !t.revokedAt && <Badge tone="amber">used up</Badge>}
                </td>
                <td className="px-3 whitespace-nowrap">
                  <Expiry token={t} now={now} />
                </td>
                <td className="px-3 whitespace-nowrap text-slate-600" title={t.lastUsedAt ? formatWhen(t.lastUsedAt) : undefined}>
                  {t.lastUsedAt ? formatAgo(t.lastUsedAt, now) : "never"}
                </td>
                <td className="py-2 pr-5 pl-3 text-right">{t.revokedAt ? <Badge>Revoked</Badge> : <RevokeTokenButton id={t.id} name={t.name} />}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
