"use client";

import { useState, type FormEvent } from "react";
import { api } from "./ui/api";
import { Alert } from "./ui/alert";
import { Button } from "./ui/button";
import { Field } from "./ui/field";
import { Badge } from "./ui/controls";

type Scope = "read" | "write" | "admin";

export interface TokenRow {
  id: string;
  name: string;
  prefix: string;
  scopes: Scope[];
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

const SCOPE_HINTS: Record<Scope, string> = {
  read: "read — look at flavours, builds, channels (GET)",
  write: "write — create, change, build, delete",
  admin: "admin — the admin operations",
};

const day = (iso: string | null) => (iso ? new Date(iso).toLocaleDateString() : "—");

/** "5 minutes ago", "in 3 days". */
function relative(iso: string): string {
  const seconds = (new Date(iso).getTime() - Date.now()) / 1000;
  const format = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  for (const [unit, size] of [
    ["year", 365 * 86400],
    ["month", 30 * 86400],
    ["day", 86400],
    ["hour", 3600],
    ["minute", 60],
  ] as const) {
    if (Math.abs(seconds) >= size) return format.format(Math.round(seconds / size), unit);
  }
  return seconds <= 0 ? "just now" : "in a moment";
}

function state(t: TokenRow) {
  if (t.revokedAt) return "revoked";
  if (t.expiresAt && new Date(t.expiresAt) < new Date()) return "expired";
  return "active";
}

export function TokensPanel({ initial, isAdmin, maxDays, defaultDays }: { initial: TokenRow[]; isAdmin: boolean; maxDays: number; defaultDays: number }) {
  const [tokens, setTokens] = useState(initial);
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  const offered: Scope[] = isAdmin ? ["read", "write", "admin"] : ["read", "write"];

  async function create(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formEl = event.currentTarget;
    const form = new FormData(formEl);
    const days = String(form.get("expiresInDays") ?? "").trim();
    setPending(true);
    setError(null);
    try {
      const created = await api<TokenRow & { token: string }>("/api/v1/tokens", {
        body: {
          name: String(form.get("name") ?? ""),
          scopes: form.getAll("scopes").map(String),
          // An empty or non-numeric field goes as-is, so the API's message names it.
          expiresInDays: days === "" ? undefined : Number(days),
        },
      });
      setSecret(created.token);
      const { token: _secret, ...row } = created;
      setTokens((list) => [row, ...list]);
      formEl.reset();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setPending(false);
    }
  }

  async function revoke(id: string) {
    setError(null);
    try {
      await api(`/api/v1/tokens/${id}`, { method: "DELETE" });
      setTokens((list) => list.map((t) => (t.id === id ? { ...t, revokedAt: new Date().toISOString() } : t)));
    } catch (err) {
      setError((err as Error).message);
    }
  }

  return (
    <div className="space-y-6">
      <form onSubmit={create} className="space-y-4" noValidate aria-label="Create token">
        <div className="flex flex-wrap items-end gap-3">
          <Field label="Token name" name="name" placeholder="ci-pipeline" className="w-64" required />
          <Field
            label="Expires in (days)"
            name="expiresInDays"
            type="number"
            min={1}
            max={maxDays}
            defaultValue={defaultDays}
            className="w-40"
            required
            hint={`At most ${maxDays}.`}
          />
        </div>
        <fieldset>
          <legend className="text-sm font-medium text-slate-700">Scopes</legend>
          <div className="mt-1 flex flex-wrap gap-4">
            {offered.map((scope) => (
              <label key={scope} className="flex items-center gap-2 text-sm text-slate-700">
                <input type="checkbox" name="scopes" value={scope} defaultChecked={scope !== "admin"} aria-label={scope} />
                <span aria-hidden>{SCOPE_HINTS[scope]}</span>
              </label>
            ))}
          </div>
        </fieldset>
        <Button type="submit" disabled={pending}>
          {pending ? "Creating…" : "Create token"}
        </Button>
      </form>
      {error && <Alert tone="error">{error}</Alert>}
      {secret && (
        <Alert tone="success">
          <p className="font-medium">Copy your new token now — it will not be shown again.</p>
          <div className="mt-2 flex items-center gap-2">
            <code data-testid="new-token" className="break-all rounded bg-white px-2 py-1 font-mono text-xs ring-1 ring-emerald-200">
              {secret}
            </code>
            <Button type="button" variant="secondary" onClick={() => navigator.clipboard?.writeText(secret)}>
              Copy
            </Button>
          </div>
        </Alert>
      )}
      {tokens.length === 0 ? (
        <p className="text-sm text-slate-600">No tokens yet. Create one to call the REST API with `Authorization: Bearer &lt;token&gt;`.</p>
      ) : (
        <table className="w-full text-left text-sm">
          <thead className="text-xs uppercase text-slate-500">
            <tr>
              <th className="py-2">Name</th>
              <th>Token</th>
              <th>Scopes</th>
              <th>Created</th>
              <th>Expires</th>
              <th>Last used</th>
              <th>Status</th>
              <th />
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {tokens.map((t) => (
              <tr key={t.id}>
                <td className="py-2 font-medium">{t.name}</td>
                <td className="font-mono text-xs">{t.prefix}…</td>
                <td>
                  <span className="flex gap-1">
                    {t.scopes.map((s) => (
                      <Badge key={s} tone={s === "admin" ? "amber" : "slate"}>
                        {s}
                      </Badge>
                    ))}
                  </span>
                </td>
                <td suppressHydrationWarning>{day(t.createdAt)}</td>
                <td suppressHydrationWarning title={t.expiresAt ? new Date(t.expiresAt).toLocaleString() : undefined}>
                  {t.expiresAt ? `${day(t.expiresAt)} (${relative(t.expiresAt)})` : "never"}
                </td>
                <td suppressHydrationWarning title={t.lastUsedAt ? new Date(t.lastUsedAt).toLocaleString() : undefined}>
                  {t.lastUsedAt ? relative(t.lastUsedAt) : "never used"}
                </td>
                <td>{state(t)}</td>
                <td className="text-right">
                  {state(t) === "active" && (
                    <Button type="button" variant="danger" onClick={() => revoke(t.id)} aria-label={`Revoke ${t.name}`}>
                      Revoke
                    </Button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
