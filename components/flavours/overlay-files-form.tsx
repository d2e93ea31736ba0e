"use client";

// Overlay files edited in the browser: a new layer that only writes files, or the files of an existing layer.
import { useState, type FormEvent } from "react";
import { ModeSchema, OverlayPathSchema, MAX_FILE_BYTES, NAME_PATTERN } from "@/lib/manifest/schema";
import { Alert } from "../ui/alert";
import { Button } from "../ui/button";
import { Field } from "../ui/field";
import { TextareaField } from "../ui/controls";
import type { Layer } from "./layer-utils";
import type { PlaceResult } from "./custom-layer-form";

interface FileRow {
  key: number;
  path: string;
  mode: string;
  content: string;
}

let nextKey = 1;
const row = (f?: { path: string; mode: string; content: string }): FileRow => ({ key: nextKey++, path: f?.path ?? "", mode: f?.mode ?? "0644", content: f?.content ?? "" });

type Problems = Record<string, string>;

/** Field → message, keyed like the definition (`files[0].path`) so the message names the field the server would. */
function validate(name: string | null, rows: FileRow[]): Problems {
  const problems: Problems = {};
  if (name !== null && !(name.length > 0 && name.length <= 64 && NAME_PATTERN.test(name)))
    problems.name = "name may only contain a-z, 0-9 and '-' and must start with a letter or digit";
  if (rows.length === 0) problems.files = "add at least one file";
  const seen = new Map<string, number>();
  rows.forEach((r, i) => {
    const path = OverlayPathSchema.safeParse(r.path);
    if (!path.success) problems[`files[${i}].path`] = r.path ? path.error.issues[0].message : "path is required, e.g. /etc/motd";
    else if (seen.has(r.path)) problems[`files[${i}].path`] = `${r.path} is already file ${seen.get(r.path)! + 1}; keep one file per path`;
    seen.set(r.path, i);
    const mode = ModeSchema.safeParse(r.mode);
    if (!mode.success) problems[`files[${i}].mode`] = mode.error.issues[0].message;
    if (new TextEncoder().encode(r.content).length > MAX_FILE_BYTES) problems[`files[${i}].content`] = "file content is larger than 1 MiB";
  });
  return problems;
}

export function OverlayFilesForm({
  layer,
  defaultName,
  requires,
  onPlace,
  onCancel,
}: {
  /** The layer whose files are edited; absent for a new files-only layer. */
  layer?: Layer;
  defaultName: string;
  /** requires of a new files-only layer. */
  requires: string[];
  onPlace: (layer: Layer) => PlaceResult;
  onCancel?: () => void;
}) {
  const [name, setName] = useState(defaultName);
  const [description, setDescription] = useState("");
  const [rows, setRows] = useState<FileRow[]>(() => (layer ? layer.files.map(row) : [row()]));
  const [problems, setProblems] = useState<Problems>({});
  const [refused, setRefused] = useState<string | null>(null);

  const update = (key: number, patch: Partial<FileRow>) => setRows((list) => list.map((r) => (r.key === key ? { ...r, ...patch } : r)));

  function submit(event: FormEvent) {
    event.preventDefault();
    setRefused(null);
    const found = validate(layer ? null : name, rows);
    setProblems(found);
    if (Object.keys(found).length) return;
    const files = rows.map((r) => ({ path: r.path, mode: r.mode.length === 3 ? `0${r.mode}` : r.mode, content: r.content }));
    const next: Layer = layer
      ? { ...layer, files }
      : {
          category: "layer",
          name,
          version: "1",
          description: description || `Overlay files: ${files.map((f) => f.path).join(", ")}`.slice(0, 2000),
          requires,
          steps: [],
          files,
          includes: [],
          excludes: [],
        };
    const placed = onPlace(next);
    if (!placed.ok) setRefused(placed.message);
    else if (!layer) {
      setRows([row()]);
      setDescription("");
    }
  }

  const summary = Object.entries(problems);
  const labelOf = (field: string) => field.replace(/^files\[(\d+)\]\.(\w+)$/, (_, i, f) => `File ${Number(i) + 1} ${f}`);
  return (
    <form onSubmit={submit} aria-label={layer ? `Files of ${layer.category}/${layer.name}` : "Overlay files"} className="space-y-3" noValidate>
      <p className="text-sm text-slate-600">
        {layer ? (
          <>
            Files of <span className="font-mono">{`${layer.category}/${layer.name}`}</span>, written into the image before its steps run.
          </>
        ) : (
          <>Files written into the image as they are, e.g. /etc/motd or a configuration drop-in. They become a layer of their own.</>
        )}
      </p>
      {!layer && (
        <div className="grid gap-3 sm:grid-cols-2">
          <Field label="Layer name" value={name} onChange={(e) => setName(e.target.value)} error={problems.name ? `name: ${problems.name}` : undefined} hint="a-z, 0-9 and '-'; the layer is layer/<name>." />
          <Field label="Layer description" value={description} onChange={(e) => setDescription(e.target.value)} placeholder="Message of the day" />
        </div>
      )}
      {rows.map((r, i) => (
        <fieldset key={r.key} className="rounded-md border border-slate-200 p-3">
          <legend className="px-1 text-xs font-medium text-slate-600">File {i + 1}</legend>
          <div className="grid gap-3 sm:grid-cols-[1fr_7rem]">
            <Field
              label="Path"
              value={r.path}
              onChange={(e) => update(r.key, { path: e.target.value })}
              placeholder="/etc/motd"
              error={problems[`files[${i}].path`] ? `files[${i}].path: ${problems[`files[${i}].path`]}` : undefined}
            />
            <Field
              label="Mode"
              value={r.mode}
              onChange={(e) => update(r.key, { mode: e.target.value })}
              placeholder="0644"
              error={problems[`files[${i}].mode`] ? `files[${i}].mode: ${problems[`files[${i}].mode`]}` : undefined}
            />
          </div>
          <TextareaField
            label="Content"
            className="mt-3"
            mono
            rows={5}
            spellCheck={false}
            value={r.content}
            onChange={(e) => update(r.key, { content: e.target.value })}
            error={problems[`files[${i}].content`]}
          />
          <div className="mt-2 text-right">
            <Button type="button" variant="ghost" onClick={() => setRows((list) => list.filter((x) => x.key !== r.key))}>
              Remove file
            </Button>
          </div>
        </fieldset>
      ))}
      {summary.length > 0 && (
        <Alert tone="error">
          <p className="font-medium">Fix these before adding the files:</p>
          <ul className="mt-1 list-disc pl-5">
            {summary.map(([field, message]) => (
              <li key={field}>
                {labelOf(field)} (<code className="font-mono text-xs">{field}</code>): {message}
              </li>
            ))}
          </ul>
        </Alert>
      )}
      {refused && <Alert tone="error">{refused}</Alert>}
      <div className="flex flex-wrap gap-2">
        <Button type="button" variant="secondary" onClick={() => setRows((list) => [...list, row()])}>
          Add another file
        </Button>
        <Button type="submit">{layer ? "Update files" : "Add layer"}</Button>
        {onCancel && (
          <Button type="button" variant="ghost" onClick={onCancel}>
            Cancel
          </Button>
        )}
      </div>
    </form>
  );
}
