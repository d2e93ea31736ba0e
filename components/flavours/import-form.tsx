"use client";

// Import an exported flavour (YAML document or luet tar) as a new flavour of this organisation.
import { useEffect, useRef, useState, type ChangeEvent, type FormEvent } from "react";
import { useRouter } from "next/navigation";
import { api } from "../ui/api";
import { Button } from "../ui/button";
import { Field } from "../ui/field";
import { TextareaField } from "../ui/controls";
import { ProblemAlert } from "../ui/problem";
import { useHydrated } from "../ui/use-hydrated";

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

export function ImportForm() {
  const router = useRouter();
  const [yaml, setYaml] = useState("");
  const [tar, setTar] = useState<{ name: string; base64: string } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [pending, setPending] = useState(false);
  const hydrated = useHydrated();
  const fileInput = useRef<HTMLInputElement>(null);

  function choose(event: ChangeEvent<HTMLInputElement>) {
    const file = event.target.files?.[0];
    if (file) load(file, event.target);
  }

  async function load(file: File, input: HTMLInputElement) {
    input.value = "";
    setError(null);
    if (/\.tar$/i.test(file.name)) {
      setTar({ name: file.name, base64: toBase64(new Uint8Array(await file.arrayBuffer())) });
    } else {
      setTar(null);
      setYaml(await file.text());
    }
  }

  // A file chosen before the page finished loading has no change event React saw; pick it up now.
  useEffect(() => {
    const early = fileInput.current?.files?.[0];
    if (early) load(early, fileInput.current!);
  }, []);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const name = String(new FormData(event.currentTarget).get("name") ?? "").trim();
    setError(null);
    if (!tar && !yaml.trim()) {
      setError(new Error("Paste an exported flavour YAML or choose a .yaml or .tar file first."));
      return;
    }
    setPending(true);
    try {
      const flavour = await api<{ id: string }>("/api/v1/flavours/import", {
        body: { ...(tar ? { luetTarBase64: tar.base64 } : { yaml }), ...(name ? { name } : {}) },
      });
      router.push(`/flavours/${flavour.id}?imported=1`);
    } catch (err) {
      setError(err);
      setPending(false);
    }
  }

  return (
    <form onSubmit={submit} aria-label="Import a flavour" className="space-y-3" noValidate>
      {tar ? (
        <div className="flex items-center justify-between rounded-md border border-slate-200 bg-slate-50 px-3 py-2 text-sm">
          <span>
            luet tree <span className="font-mono">{tar.name}</span>
          </span>
          <button type="button" className="text-brand-600 hover:underline" onClick={() => setTar(null)}>
            Clear
          </button>
        </div>
      ) : (
        <TextareaField
          label="Flavour YAML"
          mono
          rows={6}
          value={yaml}
          onChange={(e) => setYaml(e.target.value)}
          placeholder={"kind: strata/flavour\nname: kiosk\nbase: { name: strata-base, version: \"1\" }\nlayers: []"}
          spellCheck={false}
          hint="An Export YAML of a flavour revision."
        />
      )}
      <label className="inline-flex cursor-pointer items-center gap-2 rounded-md bg-white px-3 py-1.5 text-sm font-medium text-slate-800 ring-1 ring-slate-300 hover:bg-slate-50 focus-within:ring-2 focus-within:ring-brand-500">
        Choose a .yaml or .tar file
        <input ref={fileInput} type="file" accept=".yaml,.yml,.tar,application/yaml,application/x-tar" className="sr-only" onChange={choose} />
      </label>
      <Field label="New name (optional)" name="name" autoComplete="off" hint="Overrides the name in the file, e.g. when that name is taken." />
      {error != null && <ProblemAlert error={error} title="Nothing was imported." />}
      <Button type="submit" disabled={pending || !hydrated}>
        {pending ? "Importing…" : "Import"}
      </Button>
    </form>
  );
}
