"use client";

// The last step of a rebase: an optional message, then a new revision on the chosen base.
import { useState, type FormEvent } from "react";
import { useRouter } from "next/navigation";
import { api } from "../ui/api";
import { Button } from "../ui/button";
import { Field } from "../ui/field";
import { ProblemAlert } from "../ui/problem";
import { useHydrated } from "../ui/use-hydrated";

export function RebaseConfirm({ flavourId, target, parentRevision, disabled }: { flavourId: string; target: { id: string; label: string }; parentRevision: number; disabled?: boolean }) {
  const router = useRouter();
  const [error, setError] = useState<unknown>(null);
  const [pending, setPending] = useState(false);
  const hydrated = useHydrated();

  async function rebase(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const message = String(new FormData(event.currentTarget).get("message") ?? "");
    setPending(true);
    setError(null);
    try {
      const revision = await api<{ number: number }>(`/api/v1/flavours/${flavourId}/rebase`, { body: { baseManifestId: target.id, message, parentRevision } });
      router.push(`/flavours/${flavourId}/history?from=${revision.number - 1}&to=${revision.number}`);
    } catch (err) {
      setError(err);
      setPending(false);
    }
  }

  return (
    <form onSubmit={rebase} aria-label="Confirm rebase" className="space-y-3" noValidate>
      <Field label="Revision message (optional)" name="message" placeholder={`Rebased onto ${target.label}`} maxLength={500} />
      {error != null && <ProblemAlert error={error} title="The flavour was not rebased." />}
      <Button type="submit" disabled={pending || disabled || !hydrated}>
        {pending ? "Rebasing…" : `Rebase onto ${target.label}`}
      </Button>
    </form>
  );
}
