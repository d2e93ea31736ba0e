"use client";

// A layer written by hand: a YAML editor checked as you type (in the browser) and once more by the server on add.
import { useCallback, useMemo, useState } from "react";
import { parsePackageYaml } from "@/lib/manifest/parse";
import { YamlEditor, useDebouncedValue, type YamlCompletion, type YamlProblem } from "../yaml-editor";
import { api } from "../ui/api";
import { Button } from "../ui/button";
import { ProblemAlert, issuesOf } from "../ui/problem";
import { idOf, lineOfKey, type Layer } from "./layer-utils";

export const CUSTOM_TEMPLATE = `category: layer
name: my-layer
version: "1"
description: What this layer adds
requires: [system/base]
steps:
  - echo "built by Strata" > /etc/strata-note
`;

export interface PlaceResult {
  ok: boolean;
  message: string;
}

export function CustomLayerForm({
  initialYaml,
  editing,
  knownIds,
  onPlace,
  onCancel,
  completion,
}: {
  initialYaml: string;
  /** Package ids for `requires`, fields and catalog entries, offered as you type. */
  completion?: YamlCompletion;
  /** The id of the layer being edited, or null for a new layer. */
  editing: string | null;
  /** base: base packages; earlier: layers a requires may name (those before it); taken: layer ids the name must differ from. */
  knownIds: { base: Set<string>; earlier: Set<string>; taken: Set<string> };
  onPlace: (layer: Layer) => PlaceResult;
  onCancel?: () => void;
}) {
  const [yaml, setYaml] = useState(initialYaml);
  const [serverProblems, setServerProblems] = useState<YamlProblem[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [pending, setPending] = useState(false);
  const checked = useDebouncedValue(yaml, 300);

  const check = useCallback(
    (text: string): YamlProblem[] => {
      if (!text.trim()) return [{ message: "the definition is empty; write category, name, version and steps", line: 1 }];
      const parsed = parsePackageYaml(text);
      if (!parsed.ok) return parsed.errors;
      const layer = parsed.value;
      const problems: YamlProblem[] = [];
      const id = idOf(layer);
      if (knownIds.base.has(id)) problems.push({ path: "name", message: `${id} is a base package; give the layer another name`, line: lineOfKey(text, "name") });
      else if (knownIds.taken.has(id)) problems.push({ path: "name", message: `a layer named ${id} exists already; edit that layer or choose another name`, line: lineOfKey(text, "name") });
      layer.requires.forEach((r, i) => {
        if (r === id) problems.push({ path: `requires[${i}]`, message: `${id} requires itself`, line: lineOfKey(text, "requires") });
        else if (!knownIds.base.has(r) && !knownIds.earlier.has(r))
          problems.push({
            path: `requires[${i}]`,
            message: knownIds.taken.has(r)
              ? `${r} comes after this layer; move it up first, or require only earlier packages`
              : `${r} is neither a base package nor an earlier layer of this flavour`,
            line: lineOfKey(text, "requires"),
          });
      });
      return problems;
    },
    [knownIds],
  );

  const liveProblems = useMemo(() => check(checked), [checked, check]);
  const problems = serverProblems ?? liveProblems;

  function edit(next: string) {
    setYaml(next);
    setServerProblems(null);
    setError(null);
  }

  async function submit() {
    setError(null);
    const local = check(yaml);
    if (local.length) {
      setServerProblems(local);
      return;
    }
    setPending(true);
    try {
      // The server has the last word on a definition, even when the browser's check passed.
      const result = await api<{ ok: boolean; value?: Layer; errors?: YamlProblem[] }>("/api/v1/manifests/validate", { body: { kind: "package", yaml } });
      if (!result.ok || !result.value) {
        setServerProblems(result.errors ?? [{ message: "the server refused the definition" }]);
        return;
      }
      const placed = onPlace(result.value);
      if (!placed.ok) setServerProblems([{ path: "name", message: placed.message, line: lineOfKey(yaml, "name") }]);
      else if (!editing) edit(CUSTOM_TEMPLATE);
    } catch (err) {
      setError(err);
      const issues = issuesOf(err);
      if (issues.length) setServerProblems(issues.map((i) => ({ ...i, path: i.path || undefined })));
    } finally {
      setPending(false);
    }
  }

  return (
    <div className="space-y-3">
      <p className="text-sm text-slate-600">
        {editing ? (
          <>
            Editing <span className="font-mono">{editing}</span>. Changes stay local until you save a revision.
          </>
        ) : (
          <>
            A package definition: <code className="font-mono text-xs">category</code>, <code className="font-mono text-xs">name</code>,{" "}
            <code className="font-mono text-xs">version</code>, <code className="font-mono text-xs">requires</code> (base packages or earlier layers),{" "}
            <code className="font-mono text-xs">steps</code> (shell, run as root), optional <code className="font-mono text-xs">files</code>,{" "}
            <code className="font-mono text-xs">excludes</code> (RE2 regular expressions on the paths the layer adds, e.g.{" "}
            <code className="font-mono text-xs">^/var/cache/</code>; no backreferences or lookaround).
          </>
        )}
      </p>
      <YamlEditor
        label="Layer definition (YAML)"
        value={yaml}
        onChange={edit}
        problems={problems}
        rows={14}
        hint="Checked as you type; indent with spaces. Ctrl-Space lists fields, and package ids inside requires."
        completion={completion}
      />
      {error != null && issuesOf(error).length === 0 && <ProblemAlert error={error} />}
      <div className="flex gap-2">
        <Button type="button" onClick={submit} disabled={pending}>
          {pending ? "Checking…" : editing ? "Update layer" : "Add layer"}
        </Button>
        {onCancel && (
          <Button type="button" variant="ghost" onClick={onCancel}>
            Cancel
          </Button>
        )}
      </div>
    </div>
  );
}
