"use client";

// A channel's description and the failure threshold that halts a rollout by itself.
import type { FormEvent } from "react";
import { api } from "../ui/api";
import { Alert } from "../ui/alert";
import { Button } from "../ui/button";
import { Field } from "../ui/field";
import { FormProblem } from "@/components/ui/form-problem";
import { useHydrated } from "../ui/use-hydrated";
import { optionalNumber, useMutation } from "@/components/ui/use-mutation";

export function ChannelSettingsForm({
  channelId,
  description,
  failureThresholdPercent,
  failureMinReports,
}: {
  channelId: string;
  description: string;
  failureThresholdPercent: number;
  failureMinReports: number;
}) {
  const { run, pending, error, done, fieldError } = useMutation();
  const hydrated = useHydrated();

  function save(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const body = {
      description: String(form.get("description") ?? ""),
      failureThresholdPercent: optionalNumber(form, "failureThresholdPercent"),
      failureMinReports: optionalNumber(form, "failureMinReports"),
    };
    run("save", () => api(`/api/v1/channels/${channelId}`, { method: "PATCH", body }), "Saved the settings.");
  }

  return (
    <form onSubmit={save} aria-label="Channel settings" className="space-y-3" noValidate>
      <Field label="Description" name="description" defaultValue={description} autoComplete="off" error={fieldError("description")} />
      <div className="grid gap-3 sm:grid-cols-2">
        <Field
          label="Failure threshold (%)"
          name="failureThresholdPercent"
          type="number"
          min={1}
          max={100}
          defaultValue={failureThresholdPercent}
          hint="The rollout halts when more of the reporting devices failed to upgrade."
          error={fieldError("failureThresholdPercent")}
        />
        <Field
          label="Minimum reports"
          name="failureMinReports"
          type="number"
          min={1}
          defaultValue={failureMinReports}
          hint="Devices that must have reported before the threshold applies."
          error={fieldError("failureMinReports")}
        />
      </div>
      <FormProblem error={error} fields={["description", "failureThresholdPercent", "failureMinReports"]} title="The settings were not saved." />
      {done && <Alert tone="success">{done}</Alert>}
      <Button type="submit" variant="secondary" disabled={pending !== null || !hydrated}>
        {pending ? "Saving…" : "Save settings"}
      </Button>
    </form>
  );
}
