"use client";

// What a customer does with one device, folded behind "Manage": pin it to an image, unpin it, move it to another
// channel, revoke it (after a confirmation).
import { useState, type FormEvent } from "react";
import { api } from "../ui/api";
import { Alert } from "../ui/alert";
import { Button } from "../ui/button";
import { Field } from "../ui/field";
import { SelectField } from "../ui/controls";
import { useHydrated } from "../ui/use-hydrated";
import { useMutation } from "@/components/ui/use-mutation";
import { FormProblem } from "@/components/ui/form-problem";

export interface ChannelChoice {
  id: string;
  /** "web / beta". */
  label: string;
}

export function DeviceActions({ id, name, pinnedReference, channels }: { id: string; name: string; pinnedReference: string | null; channels: ChannelChoice[] }) {
  const { run, pending, error, done, fieldError } = useMutation();
  const [open, setOpen] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const hydrated = useHydrated();
  const busy = pending !== null || !hydrated;
  const patch = (body: unknown) => api(`/api/v1/devices/${id}`, { method: "PATCH", body });

  function pin(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const reference = String(new FormData(event.currentTarget).get("pinnedReference") ?? "").trim();
    run("pin", () => patch({ pinnedReference: reference }), `Pinned ${name} to ${reference}.`);
  }

  function move(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const channelId = String(new FormData(event.currentTarget).get("channelId") ?? "");
    const target = channels.find((c) => c.id === channelId);
    run("move", () => patch({ channelId }), `Moved ${name} to ${target?.label ?? "the channel"}.`);
  }

  return (
    <div className="flex flex-col items-end gap-2">
      <Button type="button" variant="secondary" className="px-2.5 py-1 text-xs" aria-expanded={open} onClick={() => setOpen((o) => !o)}>
        Manage
      </Button>
      {open && (
        <div className="w-80 space-y-3 rounded-md border border-slate-200 bg-slate-50 p-3 text-left">
          <form onSubmit={pin} aria-label={`Pin ${name}`} className="space-y-2" noValidate>
            <Field
              label="Image reference"
              name="pinnedReference"
              placeholder="127.0.0.1:5000/acme/web@sha256:…"
              defaultValue={pinnedReference ?? ""}
              key={pinnedReference ?? ""}
              autoComplete="off"
              hint="The device runs this image instead of its channel's release."
              error={fieldError("pinnedReference")}
            />
            <div className="flex gap-2">
              <Button type="submit" variant="secondary" className="px-2.5 py-1 text-xs" disabled={busy}>
                {pending === "pin" ? "Pinning…" : "Pin"}
              </Button>
              {pinnedReference && (
                <Button type="button" variant="ghost" className="px-2.5 py-1 text-xs" disabled={busy} onClick={() => run("unpin", () => patch({ pinnedReference: null }), `Unpinned ${name}: it follows its channel again.`)}>
                  {pending === "unpin" ? "Unpinning…" : "Unpin"}
                </Button>
              )}
            </div>
          </form>
          {channels.length > 0 && (
            <form onSubmit={move} aria-label={`Move ${name}`} className="flex items-end gap-2" noValidate>
              <SelectField label="Move to channel" name="channelId" defaultValue={channels[0].id} className="min-w-0 flex-1" error={fieldError("channelId")}>
                {channels.map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.label}
                  </option>
                ))}
              </SelectField>
              <Button type="submit" variant="secondary" className="px-2.5 py-1 text-xs" disabled={busy}>
                {pending === "move" ? "Moving…" : "Move"}
              </Button>
            </form>
          )}
          {confirming ? (
            <div className="space-y-2 rounded-md border border-red-200 bg-red-50 p-2">
              <p className="text-xs text-red-800">Revoke {name}? Its secret stops working at once; to bring it back, register it again with a new token.</p>
              <div className="flex gap-2">
                <Button type="button" variant="danger" className="px-2.5 py-1 text-xs" disabled={busy} onClick={() => run("revoke", () => api(`/api/v1/devices/${id}`, { method: "DELETE" }))}>
                  {pending === "revoke" ? "Revoking…" : "Yes, revoke"}
                </Button>
                <Button type="button" variant="ghost" className="px-2.5 py-1 text-xs" onClick={() => setConfirming(false)}>
                  Keep it
                </Button>
              </div>
            </div>
          ) : (
            <Button type="button" variant="danger" className="px-2.5 py-1 text-xs" disabled={busy} onClick={() => setConfirming(true)}>
              Revoke
            </Button>
          )}
          <FormProblem error={error} fields={["pinnedReference", "channelId"]} title="That did not go through." />
          {done && <Alert tone="success">{done}</Alert>}
        </div>
      )}
    </div>
  );
}
