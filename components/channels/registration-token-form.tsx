"use client";

// Create a registration token for a channel and show it once, with the agent command that uses it.
import { useState, type FormEvent } from "react";
import { api } from "../ui/api";
import { Button } from "../ui/button";
import { Field } from "../ui/field";
import { ProblemAlert } from "../ui/problem";
import { CopyButton } from "../builds/copy-button";
import { FormProblem } from "@/components/ui/form-problem";
import { useHydrated } from "../ui/use-hydrated";
import { optionalNumber, useMutation } from "@/components/ui/use-mutation";

export const AGENT_BUNDLE_PATH = "/api/device/v1/agent.mjs";

export function RegistrationTokenForm({ channelId }: { channelId: string }) {
  const { run, pending, error, fieldError } = useMutation();
  const [created, setCreated] = useState<{ token: string; name: string } | null>(null);
  const hydrated = useHydrated();

  async function create(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formEl = event.currentTarget;
    const form = new FormData(formEl);
    const body = { name: String(form.get("name") ?? ""), expiresInDays: optionalNumber(form, "expiresInDays"), maxUses: optionalNumber(form, "maxUses") };
    setCreated(null);
    const result = await run("create", () => api<{ token: string; summary: { name: string } }>(`/api/v1/channels/${channelId}/registration-tokens`, { body }));
    if (result) {
      setCreated({ token: result.token, name: result.summary.name });
      formEl.reset();
    }
  }

  const command = created && `npm run agent -- --server ${window.location.origin} --ca .data/tls/ca.pem --root /var/lib/strata --token ${created.token} --name <device>`;
  return (
    <div className="space-y-4">
      <form onSubmit={create} aria-label="Create registration token" className="flex flex-wrap items-end gap-3" noValidate>
        <Field label="Token name" name="name" placeholder="lab-rack-2" autoComplete="off" className="min-w-48 flex-1" error={fieldError("name")} required />
        <Field label="Expires in days" name="expiresInDays" type="number" min={1} max={3650} placeholder="never" className="w-36" error={fieldError("expiresInDays")} />
        <Field label="Maximum uses" name="maxUses" type="number" min={1} placeholder="any" className="w-36" error={fieldError("maxUses")} />
        <Button type="submit" disabled={pending !== null || !hydrated}>
          {pending ? "Creating…" : "Create token"}
        </Button>
      </form>
      <FormProblem error={error} fields={["name", "expiresInDays", "maxUses"]} title="The token was not created." />
      {created && command && (
        <div role="region" aria-label="New registration token" className="space-y-3 rounded-md border border-emerald-200 bg-emerald-50 px-4 py-3 text-sm text-emerald-900">
          <p className="font-medium">New registration token {created.name}: copy it now, it is not shown again.</p>
          <div className="flex items-center gap-2">
            <code data-testid="new-registration-token" className="min-w-0 flex-1 rounded-md bg-white px-2.5 py-1.5 font-mono text-[13px] break-all text-slate-800 ring-1 ring-emerald-200 ring-inset">
              {created.token}
            </code>
            <CopyButton value={created.token} label="Copy token" />
          </div>
          <p className="text-emerald-900">
            On the device, register and start the agent with{" "}
            <code className="rounded bg-white px-1.5 py-0.5 font-mono text-xs break-all text-slate-800 ring-1 ring-emerald-200">{command}</code> (replace{" "}
            <code className="font-mono text-xs">&lt;device&gt;</code> with its name), or{" "}
            <a href={AGENT_BUNDLE_PATH} download className="font-medium underline">
              download the agent bundle
            </a>{" "}
            and run it as <code className="font-mono text-xs">node strata-agent.mjs</code> with the same flags.
          </p>
        </div>
      )}
    </div>
  );
}

export function RevokeTokenButton({ id, name }: { id: string; name: string }) {
  const { run, pending, error } = useMutation();
  const hydrated = useHydrated();
  return (
    <span className="inline-flex flex-col items-end gap-1">
      <Button
        type="button"
        variant="danger"
        className="px-2.5 py-1 text-xs"
        aria-label={`Revoke ${name}`}
        disabled={pending !== null || !hydrated}
        onClick={() => run("revoke", () => api(`/api/v1/registration-tokens/${id}`, { method: "DELETE" }))}
      >
        {pending ? "Revoking…" : "Revoke"}
      </Button>
      {error != null && <ProblemAlert error={error} />}
    </span>
  );
}
