"use client";

// Admins publish a new base-manifest version: paste YAML or load a file, see problems at their lines as they type.
import { useMemo, useState, type ChangeEvent, type FormEvent } from "react";
import { useRouter } from "next/navigation";
import { parseManifestYaml } from "@/lib/manifest/parse";
import { YamlEditor, useDebouncedValue, type YamlCompletion, type YamlProblem } from "../yaml-editor";
import { api } from "../ui/api";
import { Button } from "../ui/button";
import { ProblemAlert, issuesOf } from "../ui/problem";
import { useHydrated } from "../ui/use-hydrated";

// A manifest's requires name its own packages: the ids are read from the text (the last version that parses).
const MANIFEST_COMPLETION: YamlCompletion = {
  packages: (doc) => {
    const parsed = parseManifestYaml(doc);
    const packages = parsed.ok ? parsed.value.packages : idsInText(doc);
    return packages.map((p) => ({ id: `${p.category}/${p.name}`, detail: "package", info: p.description || undefined }));
  },
  keys: [
    { label: "name", detail: "required", info: "The manifest's name; with version, new for each published version." },
    { label: "version", detail: "required", info: "Text, e.g. \"2\"." },
    { label: "base_image", detail: "required", info: "The container image the packages build on, e.g. strata/debian:bookworm." },
    { label: "description", info: "One line on what the manifest is for." },
    { label: "packages", detail: "required", info: "The package definitions, in build order." },
  ],
};

/** Package ids of a manifest that does not parse yet: each `category:` with the `name:` beside it. */
function idsInText(doc: string): Array<{ category: string; name: string; description?: string }> {
  const out: Array<{ category: string; name: string }> = [];
  const re = /^\s*-?\s*category:\s*([a-z0-9-]+)\s*\n\s*name:\s*([a-z0-9-]+)/gm;
  for (let m = re.exec(doc); m; m = re.exec(doc)) out.push({ category: m[1], name: m[2] });
  return out;
}

export function PublishBaseManifestForm({ template }: { template: string }) {
  const router = useRouter();
  const [yaml, setYaml] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [serverProblems, setServerProblems] = useState<YamlProblem[] | null>(null);
  const [pending, setPending] = useState(false);
  const hydrated = useHydrated();
  const checked = useDebouncedValue(yaml, 400);

  const localProblems = useMemo<YamlProblem[]>(() => {
    if (!checked.trim()) return [];
    const result = parseManifestYaml(checked);
    return result.ok ? [] : result.errors;
  }, [checked]);
  // Server problems describe the text as sent; once it is edited, the live check takes over again.
  const problems = serverProblems ?? localProblems;

  function edit(next: string) {
    setYaml(next);
    setServerProblems(null);
  }

  async function loadFile(event: ChangeEvent<HTMLInputElement>) {
    const file = event.target.files?.[0];
    if (!file) return;
    edit(await file.text());
    setError(null);
  }

  async function publish(event: FormEvent) {
    event.preventDefault();
    setError(null);
    if (!yaml.trim()) {
      setError(new Error("Paste the manifest YAML or choose a .yaml file first."));
      return;
    }
    setPending(true);
    try {
      const created = await api<{ id: string }>("/api/v1/base-manifests", { body: { yaml } });
      router.push(`/base-manifests/${created.id}`);
      router.refresh();
    } catch (err) {
      setError(err);
      setServerProblems(issuesOf(err).map((i) => ({ ...i, path: i.path || undefined })));
      setPending(false);
    }
  }

  return (
    <form onSubmit={publish} aria-label="Publish version" className="space-y-4" noValidate>
      <p className="text-sm text-slate-600">
        A version is immutable once published: flavours forked from earlier versions keep them, and can be rebased onto this one. The{" "}
        <code className="font-mono text-xs">name</code> and <code className="font-mono text-xs">version</code> pair must be new.
      </p>
      <div className="flex flex-wrap items-center gap-3 text-sm">
        <label className="inline-flex cursor-pointer items-center gap-2 rounded-md bg-white px-3 py-1.5 font-medium text-slate-800 ring-1 ring-slate-300 hover:bg-slate-50 focus-within:ring-2 focus-within:ring-brand-500">
          Upload a .yaml file
          <input type="file" accept=".yaml,.yml,application/yaml,text/yaml" className="sr-only" onChange={loadFile} disabled={!hydrated} />
        </label>
        <button type="button" className="text-brand-600 hover:underline" onClick={() => edit(template)}>
          Start from the latest version
        </button>
      </div>
      <YamlEditor
        label="Manifest YAML"
        value={yaml}
        onChange={edit}
        problems={problems}
        rows={18}
        completion={MANIFEST_COMPLETION}
        placeholder={"name: strata-base\nversion: \"2\"\nbase_image: strata/debian:bookworm\npackages:\n  - category: system\n    name: base\n    version: \"1\"\n    steps: [apt-get update]"}
      />
      {error != null && <ProblemAlert error={error} title="The version was not published." />}
      <Button type="submit" disabled={pending || !hydrated}>
        {pending ? "Publishing…" : "Publish version"}
      </Button>
    </form>
  );
}
