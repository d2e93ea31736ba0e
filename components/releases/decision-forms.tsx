"use client";

// The admin's answer to a release request: approve it at a rollout percentage, or reject it with a reason.
import type { FormEvent } from "react";
import { api } from "../ui/api";
import { Alert } from "../ui/alert";
import { Button } from "../ui/button";
import { Field } from "../ui/field";
import { TextareaField } from "../ui/controls";
import { useHydrated } from "../ui/use-hydrated";
import { useMutation } from "@/components/ui/use-mutation";
import { FormProblem } from "@/components/ui/form-problem";

export function ReleaseDecisionForms({ releaseId, version }: { releaseId: string; version: string }) {
  const { run, pending, error, done, fieldError } = useMutation();
  const hydrated = useHydrated();
  const busy = pending !== null || !hydrated;

  function approve(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const rolloutPercent = Number(new FormData(event.currentTarget).get("rolloutPercent"));
    run("approve", () => api(`/api/v1/releases/${releaseId}/approve`, { body: { rolloutPercent } }), `Approved ${version} at ${rolloutPercent} %.`);
  }

  function reject(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const reason = String(new FormData(event.currentTarget).get("reason") ?? "");
    run("reject", () => api(`/api/v1/releases/${releaseId}/reject`, { body: { reason } }), `Rejected ${version}.`);
  }

  return (
    <div className="space-y-3">
      <div className="grid gap-4 md:grid-cols-2">
        <form onSubmit={approve} aria-label={`Approve ${version}`} className="flex flex-wrap items-end gap-3" noValidate>
          <Field
            label="Rollout percentage"
            name="rolloutPercent"
            type="number"
            min={1}
            max={100}
            defaultValue={100}
            className="w-40"
            hint="Share of the channel's devices that get it first."
            error={fieldError("rolloutPercent")}
          />
          <Button type="submit" disabled={busy}>
            {pending === "approve" ? "Approving…" : "Approve"}
          </Button>
        </form>
        <form onSubmit={reject} aria-label={`Reject ${version}`} className="flex flex-wrap items-end gap-3" noValidate>
          <TextareaField label="Reason" name="reason" rows={2} placeholder="Say why, so the customer can fix it" className="min-w-48 flex-1" error={fieldError("reason")} />
          <Button type="submit" variant="danger" disabled={busy}>
            {pending === "reject" ? "Rejecting…" : "Reject"}
          </Button>
        </form>
      </div>
      <FormProblem error={error} fields={["rolloutPercent", "reason"]} title="That did not go through." />
      {done && <Alert tone="success">{done}</Alert>}
    </div>
  );
}
