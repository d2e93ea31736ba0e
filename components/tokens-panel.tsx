"use client";

import { useState, type FormEvent } from "react";
import { api } from "./ui/api";
import { Alert } from "./ui/alert";
import { Button } from "./ui/button";
import { Field } from "./ui/field";

export interface TokenRow {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

const day = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : "—");

function state(t: TokenRow) {
  if (t.revokedAt) return "revoked";
  if (t.expiresAt && new Date(t.expiresAt) < new Date()) return "expired";
  return "active";
}

export function TokensPanel({ initial }: { initial: TokenRow[] }) {
  const [tokens, setTokens] = useState(initial);
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);

  async function create(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formEl = event.currentTarget;
    const form = new FormData(formEl);
    const days = String(form.get("expiresInDays") ?? "");
    setPending(true);
    setError(null);
    try {
      const created = await api<TokenRow & { token: string }>("/api/v1/tokens", {
        body: { name: String(form.get("name") ?? ""), ...(days ? { expiresInDays: Number(days) } : {}) },
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
      <form onSubmit={create} className="flex flex-wrap items-end gap-3" noValidate aria-label="Create token">
        <Field label="Token name" name="name" placeholder="ci-pipeline" className="w-64" required />
        <Field label="Expires in (days)" name="expiresInDays" type="number" min={1} max={3650} placeholder="never" className="w-40" />
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
                <td>{day(t.createdAt)}</td>
                <td>{day(t.expiresAt)}</td>
                <td>{day(t.lastUsedAt)}</td>
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
