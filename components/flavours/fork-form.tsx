"use client";

// Fork a base-manifest version into a new flavour, then open it.
import { useState, type FormEvent } from "react";
import { useRouter } from "next/navigation";
import { api } from "../ui/api";
import { Button } from "../ui/button";
import { Field } from "../ui/field";
import { SelectField } from "../ui/controls";
import { ProblemAlert, issuesOf } from "../ui/problem";
import { useHydrated } from "../ui/use-hydrated";

export interface BaseOption {
  id: string;
  label: string;
}

export function ForkForm({ bases, defaultBaseId }: { bases: BaseOption[]; defaultBaseId?: string }) {
  const router = useRouter();
  const [error, setError] = useState<unknown>(null);
  const [pending, setPending] = useState(false);
  const hydrated = useHydrated();

  async function fork(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setPending(true);
    setError(null);
    try {
      const flavour = await api<{ id: string }>("/api/v1/flavours", {
        body: { baseManifestId: String(form.get("baseManifestId")), name: String(form.get("name") ?? ""), description: String(form.get("description") ?? "") },
      });
      router.push(`/flavours/${flavour.id}?forked=1`);
    } catch (err) {
      setError(err);
      setPending(false);
    }
  }

  if (bases.length === 0) return <p className="text-sm text-slate-600">No base manifest is published yet; an administrator publishes one on the Base manifest page.</p>;
  const fieldError = (field: string) => issuesOf(error).find((i) => i.path === field)?.message;
  return (
    <form onSubmit={fork} aria-label="Fork base manifest" className="space-y-3" noValidate>
      <SelectField label="Base manifest version" name="baseManifestId" defaultValue={defaultBaseId ?? bases[0].id}>
        {bases.map((b) => (
          <option key={b.id} value={b.id}>
            {b.label}
          </option>
        ))}
      </SelectField>
      <Field
        label="Flavour name"
        name="name"
        placeholder="kiosk"
        autoComplete="off"
        hint="Lower-case letters, digits and '-'; it names the OS image."
        error={fieldError("name")}
        required
      />
      <Field label="Description" name="description" placeholder="Point-of-sale kiosk with a browser" autoComplete="off" error={fieldError("description")} />
      {error != null && <ProblemAlert error={error} title="The flavour was not created." />}
      <Button type="submit" disabled={pending || !hydrated}>
        {pending ? "Forking…" : "Fork"}
      </Button>
    </form>
  );
}
