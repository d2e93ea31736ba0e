"use client";

// The admin's levers on a channel: pause (with a reason) and resume, the rollout percentage, and rolling back to an
// earlier approved release. Rendered for admins only; the API checks the role again.
import type { FormEvent } from "react";
import { api } from "../ui/api";
import { Alert } from "../ui/alert";
import { Button } from "../ui/button";
import { Field } from "../ui/field";
import { SelectField } from "../ui/controls";
import { useHydrated } from "../ui/use-hydrated";
import { useMutation } from "@/components/ui/use-mutation";
import { FormProblem } from "@/components/ui/form-problem";

export interface RollbackTarget {
  id: string;
  version: string;
}

export function ChannelAdminControls({
  channelId,
  paused,
  halted,
  release,
  rolloutPercent,
  rollbackTargets,
}: {
  channelId: string;
  paused: boolean;
  halted: boolean;
  /** The current release's version, or null when the channel has none yet. */
  release: string | null;
  rolloutPercent: number;
  rollbackTargets: RollbackTarget[];
}) {
  const { run, pending, error, done, fieldError } = useMutation();
  const hydrated = useHydrated();
  const busy = pending !== null || !hydrated;
  const post = (action: string, body: unknown) => api(`/api/v1/channels/${channelId}/${action}`, { body });

  function pause(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    run("pause", () => post("pause", { reason: String(form.get("reason") ?? "") }), "Paused the channel: devices stay on what they run until it is resumed.");
  }

  function rollout(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const percent = Number(new FormData(event.currentTarget).get("percent"));
    run("rollout", () => post("rollout", { percent }), `The rollout of ${release} is now at ${percent} %.`);
  }

  function rollback(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const releaseId = String(new FormData(event.currentTarget).get("releaseId") ?? "");
    const target = rollbackTargets.find((t) => t.id === releaseId);
    run("rollback", () => post("rollback", { releaseId }), `Rolled back to ${target?.version ?? "the release"} for every device.`);
  }

  return (
    <div className="space-y-4">
      {paused || halted ? (
        <div className="space-y-2">
          <p className="text-sm text-slate-600">{halted ? "Resuming clears the halt: the rollout goes on where it stopped." : "Resuming lets devices follow the channel again."}</p>
          <Button type="button" variant="secondary" disabled={busy} onClick={() => run("resume", () => post("resume", {}), "Resumed the channel.")}>
            {pending === "resume" ? "Resuming…" : "Resume"}
          </Button>
        </div>
      ) : null}
      {!paused && (
        <form onSubmit={pause} aria-label="Pause channel" className="flex flex-wrap items-end gap-3" noValidate>
          <Field label="Reason" name="reason" placeholder="Investigating boot loops" autoComplete="off" className="min-w-48 flex-1" error={fieldError("reason")} />
          <Button type="submit" variant="danger" disabled={busy}>
            {pending === "pause" ? "Pausing…" : "Pause"}
          </Button>
        </form>
      )}
      {release !== null && (
        <form onSubmit={rollout} aria-label="Rollout" className="flex flex-wrap items-end gap-3" noValidate>
          <Field
            label="Rollout percentage"
            name="percent"
            type="number"
            min={1}
            max={100}
            step={1}
            defaultValue={rolloutPercent}
            key={rolloutPercent}
            className="w-40"
            error={fieldError("percent")}
            required
          />
          <Button type="submit" variant="secondary" disabled={busy}>
            {pending === "rollout" ? "Setting…" : "Set rollout"}
          </Button>
        </form>
      )}
      {rollbackTargets.length > 0 && (
        <form onSubmit={rollback} aria-label="Roll back" className="flex flex-wrap items-end gap-3" noValidate>
          <SelectField label="Roll back to" name="releaseId" defaultValue={rollbackTargets[0].id} className="min-w-40 flex-1">
            {rollbackTargets.map((t) => (
              <option key={t.id} value={t.id}>
                {t.version}
              </option>
            ))}
          </SelectField>
          <Button type="submit" variant="danger" disabled={busy}>
            {pending === "rollback" ? "Rolling back…" : "Roll back"}
          </Button>
        </form>
      )}
      <FormProblem error={error} fields={["reason", "percent"]} title="That did not go through." />
      {done && <Alert tone="success">{done}</Alert>}
    </div>
  );
}
