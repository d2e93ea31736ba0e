"use client";

// Create a channel on a flavour, next to stable and beta.
import type { FormEvent } from "react";
import { api } from "../ui/api";
import { Alert } from "../ui/alert";
import { Button } from "../ui/button";
import { Field } from "../ui/field";
import { FormProblem } from "@/components/ui/form-problem";
import { useHydrated } from "../ui/use-hydrated";
import { useMutation } from "@/components/ui/use-mutation";

export function NewChannelForm({ flavourId }: { flavourId: string }) {
  const { run, pending, error, done, fieldError } = useMutation();
  const hydrated = useHydrated();

  async function create(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const formEl = event.currentTarget;
    const form = new FormData(formEl);
    const created = await run(
      "create",
      () => api<{ name: string }>(`/api/v1/flavours/${flavourId}/channels`, { body: { name: String(form.get("name") ?? ""), description: String(form.get("description") ?? "") } }),
      (channel) => `Created the channel ${channel.name}.`,
    );
    if (created) formEl.reset();
  }

  return (
    <form onSubmit={create} aria-label="New channel" className="space-y-3" noValidate>
      <Field label="Channel name" name="name" placeholder="canary" autoComplete="off" hint="Lower-case letters, digits and '-'." error={fieldError("name")} required />
      <Field label="Description" name="description" placeholder="Ten test devices in the lab" autoComplete="off" error={fieldError("description")} />
      <FormProblem error={error} fields={["name", "description"]} title="The channel was not created." />
      {done && <Alert tone="success">{done}</Alert>}
      <Button type="submit" disabled={pending !== null || !hydrated}>
        {pending ? "Creating…" : "Create channel"}
      </Button>
    </form>
  );
}
