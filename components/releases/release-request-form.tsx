"use client";

// Ask to release a succeeded build on one of its flavour's channels; an admin approves it before devices see it.
import Link from "next/link";
import { useState, type FormEvent } from "react";
import { api } from "../ui/api";
import { Alert } from "../ui/alert";
import { Button } from "../ui/button";
import { Field } from "../ui/field";
import { SelectField, TextareaField } from "../ui/controls";
import { useHydrated } from "../ui/use-hydrated";
import { FormProblem } from "@/components/ui/form-problem";
import { useMutation } from "@/components/ui/use-mutation";

export interface ReleaseChannelChoice {
  id: string;
  name: string;
  /** The channel's release now, for the hint. */
  releaseVersion: string | null;
}

export function ReleaseRequestForm({ buildId, channels }: { buildId: string; channels: ReleaseChannelChoice[] }) {
  const { run, pending, error, fieldError } = useMutation();
  const [requested, setRequested] = useState<{ version: string; channel: ReleaseChannelChoice } | null>(null);
  const [channelId, setChannelId] = useState(channels[0]?.id ?? "");
  const hydrated = useHydrated();
  const channel = channels.find((c) => c.id === channelId);

  async function request(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formEl = event.currentTarget;
    const form = new FormData(formEl);
    const target = channels.find((c) => c.id === form.get("channelId"));
    if (!target) return;
    setRequested(null);
    const release = await run("request", () =>
      api<{ version: string }>(`/api/v1/channels/${target.id}/releases`, { body: { buildId, version: String(form.get("version") ?? "").trim(), notes: String(form.get("notes") ?? "") } }),
    );
    if (release) {
      setRequested({ version: release.version, channel: target });
      formEl.reset();
      setChannelId(target.id);
    }
  }

  return (
    <form onSubmit={request} aria-label="Release this build" className="space-y-3" noValidate>
      <div className="grid gap-3 sm:grid-cols-2">
        <SelectField label="Channel" name="channelId" value={channelId} onChange={(e) => setChannelId(e.target.value)}>
          {channels.map((c) => (
            <option key={c.id} value={c.id}>
              {c.name}
            </option>
          ))}
        </SelectField>
        <Field
          label="Version"
          name="version"
          placeholder="1.0.0"
          autoComplete="off"
          hint={`semantic version, higher than the channel's last${channel?.releaseVersion ? ` (${channel.name} runs ${channel.releaseVersion})` : ""}`}
          error={fieldError("version")}
          required
        />
      </div>
      <TextareaField label="Release notes" name="notes" rows={3} placeholder="What changes for the devices" error={fieldError("notes")} />
      <FormProblem error={error} fields={["version", "notes"]} title="The release was not requested." />
      {requested && (
        <Alert tone="success">
          Requested {requested.version} on {requested.channel.name}; waiting for an admin&apos;s approval.{" "}
          <Link href={`/channels/${requested.channel.id}`} className="font-medium underline">
            Open the channel {requested.channel.name}
          </Link>
        </Alert>
      )}
      <Button type="submit" disabled={pending !== null || !hydrated}>
        {pending ? "Requesting…" : "Request release"}
      </Button>
    </form>
  );
}
