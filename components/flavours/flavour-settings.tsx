"use client";

// Rename, describe, archive and restore a flavour.
import { useState, type FormEvent } from "react";
import { useRouter } from "next/navigation";
import { Alert } from "../ui/alert";
import { api } from "../ui/api";
import { Button } from "../ui/button";
import { Field } from "../ui/field";
import { ProblemAlert, issuesOf } from "../ui/problem";
import { useHydrated } from "../ui/use-hydrated";

export function FlavourSettings({ id, name, description, archived }: { id: string; name: string; description: string; archived: boolean }) {
  const router = useRouter();
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const hydrated = useHydrated();

  async function patch(body: Record<string, unknown>, success: string) {
    setPending(true);
    setError(null);
    setDone(null);
    try {
      await api(`/api/v1/flavours/${id}`, { method: "PATCH", body });
      setDone(success);
      setConfirming(false);
      router.refresh();
    } catch (err) {
      setError(err);
    } finally {
      setPending(false);
    }
  }

  function saveDetails(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const next = { name: String(form.get("name") ?? ""), description: String(form.get("description") ?? "") };
    patch(next, "Saved the name and description.");
  }

  const fieldError = (field: string) => issuesOf(error).find((i) => i.path === field)?.message;
  return (
    <div className="space-y-4">
      <form onSubmit={saveDetails} aria-label="Flavour details" className="space-y-3" noValidate>
        <Field label="Name" name="name" defaultValue={name} autoComplete="off" hint="a-z, 0-9 and '-'; renaming changes the image name of later builds." error={fieldError("name")} />
        <Field label="Description" name="description" defaultValue={description} autoComplete="off" error={fieldError("description")} />
        <Button type="submit" variant="secondary" disabled={pending || !hydrated}>
          Save details
        </Button>
      </form>
      <div className="border-t border-slate-100 pt-4">
        {archived ? (
          <div className="space-y-2">
            <p className="text-sm text-slate-600">Archived: hidden from the flavour list and read-only. Its revisions are kept.</p>
            <Button type="button" variant="secondary" disabled={pending || !hydrated} onClick={() => patch({ archived: false }, "Restored the flavour.")}>
              Restore flavour
            </Button>
          </div>
        ) : confirming ? (
          <div className="space-y-2 rounded-md border border-red-200 bg-red-50 p-3">
            <p className="text-sm text-red-800">Archive {name}? It leaves the flavour list and becomes read-only; its revisions are kept and you can restore it.</p>
            <div className="flex gap-2">
              <Button type="button" variant="danger" disabled={pending} onClick={() => patch({ archived: true }, "Archived the flavour.")}>
                Yes, archive
              </Button>
              <Button type="button" variant="ghost" onClick={() => setConfirming(false)}>
                Keep it
              </Button>
            </div>
          </div>
        ) : (
          <Button type="button" variant="danger" disabled={!hydrated} onClick={() => setConfirming(true)}>
            Archive flavour
          </Button>
        )}
      </div>
      {error != null && <ProblemAlert error={error} />}
      {done && <Alert tone="success">{done}</Alert>}
    </div>
  );
}
