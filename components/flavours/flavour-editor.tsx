"use client";

// The layer editor of a flavour's latest revision: changes stay in the browser until "Save revision" makes a new revision.
import { useMemo, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { toPackageYaml } from "@/lib/manifest/yaml";
import { Alert } from "../ui/alert";
import { api } from "../ui/api";
import { Button } from "../ui/button";
import { Card } from "../ui/card";
import { Field } from "../ui/field";
import { Badge } from "../ui/controls";
import { ProblemAlert, issuesOf } from "../ui/problem";
import { useHydrated } from "../ui/use-hydrated";
import { CatalogForms, type CatalogEntrySummary } from "./catalog-forms";
import { CUSTOM_TEMPLATE, CustomLayerForm, type PlaceResult } from "./custom-layer-form";
import { OverlayFilesForm } from "./overlay-files-form";
import { BasePackages } from "./base-packages";
import { exclusionProblems } from "@/lib/flavours/kept-packages";
import { freeName, idOf, layerOfPath, layerOrderProblems, stableJson, type Layer } from "./layer-utils";
import { useDraftReporter } from "./flavour-draft";
import { OverlayPreview } from "./overlay-preview";
import { PACKAGE_KEYS, catalogTemplates } from "./yaml-completion";
import type { YamlCompletion } from "../yaml-editor";

type Tab = "catalog" | "yaml" | "files";
const TABS: Array<{ id: Tab; label: string }> = [
  { id: "catalog", label: "From the catalog" },
  { id: "yaml", label: "Custom YAML" },
  { id: "files", label: "Overlay files" },
];

export interface FlavourEditorProps {
  flavourId: string;
  archived: boolean;
  revision: number;
  /** Every package of the base manifest, kept or left out. */
  base: { id: string; name: string; version: string; packages: Layer[] };
  layers: Layer[];
  /** Base packages the latest revision leaves out. */
  excludedPackages: string[];
  catalog: CatalogEntrySummary[];
}

export function FlavourEditor({ flavourId, archived, revision, base, layers: initialLayers, excludedPackages: initialExcluded, catalog }: FlavourEditorProps) {
  const router = useRouter();
  const [saved, setSaved] = useState({ number: revision, layers: initialLayers, excluded: initialExcluded });
  const [layers, setLayers] = useState(initialLayers);
  const [excluded, setExcluded] = useState(initialExcluded);
  /** The left-out packages as last sent, to place the server's `excludedPackages[i]` issues. */
  const [sentExcluded, setSentExcluded] = useState<string[]>([]);
  const [tab, setTab] = useState<Tab>("catalog");
  /** Index of the layer open in the YAML or files form; null adds a new layer. */
  const [editing, setEditing] = useState<number | null>(null);
  const [formKey, setFormKey] = useState(0);
  const [notice, setNotice] = useState<string | null>(null);
  const [saveError, setSaveError] = useState<unknown>(null);
  const [savedNow, setSavedNow] = useState<number | null>(null);
  const [message, setMessage] = useState("");
  const [saving, setSaving] = useState(false);
  const addPanel = useRef<HTMLDivElement>(null);
  const hydrated = useHydrated();
  const tabRefs = useRef<Record<Tab, HTMLButtonElement | null>>({ catalog: null, yaml: null, files: null });

  const baseIds = useMemo(() => new Set(base.packages.map(idOf)), [base.packages]);
  const savedById = useMemo(() => new Map(saved.layers.map((l) => [idOf(l), stableJson(l)])), [saved.layers]);
  const keptBaseCount = base.packages.length - excluded.length;
  const orderProblems = useMemo(() => {
    const problems = layerOrderProblems(base.packages, layers);
    // A layer that requires a left-out base package: marked on the layer, as the server would.
    for (const issue of exclusionProblems(base.packages, layers, excluded)) {
      const at = layerOfPath(issue.path);
      if (at) problems.set(at.index, [...(problems.get(at.index) ?? []), issue.message]);
    }
    return problems;
  }, [base.packages, layers, excluded]);

  const layersDirty = stableJson(layers) !== stableJson(saved.layers);
  const excludedDirty = stableJson(excluded) !== stableJson(saved.excluded);
  const dirty = layersDirty || excludedDirty;
  const removed = saved.layers.filter((l) => !layers.some((x) => idOf(x) === idOf(l))).map(idOf);

  // Server problems by layer index; they describe the layers as sent, so any edit clears them.
  const serverByLayer = useMemo(() => {
    const map = new Map<number, string[]>();
    for (const issue of issuesOf(saveError)) {
      const at = layerOfPath(issue.path);
      if (at) map.set(at.index, [...(map.get(at.index) ?? []), `${at.field ? `${at.field}: ` : ""}${issue.message}`]);
    }
    return map;
  }, [saveError]);
  const serverByBasePackage = useMemo(() => {
    const map = new Map<string, string[]>();
    for (const issue of issuesOf(saveError)) {
      const m = /^excludedPackages\[(\d+)\]/.exec(issue.path);
      const id = m ? sentExcluded[Number(m[1])] : undefined;
      if (id) map.set(id, [...(map.get(id) ?? []), issue.message]);
    }
    return map;
  }, [saveError, sentExcluded]);

  function change(next: Layer[], note: string) {
    setLayers(next);
    setNotice(note);
    setSaveError(null);
    setSavedNow(null);
  }

  function move(index: number, by: -1 | 1) {
    const to = index + by;
    if (to < 0 || to >= layers.length) return;
    const next = [...layers];
    [next[index], next[to]] = [next[to], next[index]];
    change(next, `Moved ${idOf(layers[index])} ${by < 0 ? "up" : "down"} to position ${keptBaseCount + to + 1}.`);
    if (editing === index) setEditing(to);
    else if (editing === to) setEditing(index);
  }

  function remove(index: number) {
    const id = idOf(layers[index]);
    const dependents = layers.filter((l, i) => i !== index && l.requires.includes(id)).map(idOf);
    change(
      layers.filter((_, i) => i !== index),
      `Removed ${id}.${dependents.length ? ` ${dependents.join(", ")} still require${dependents.length === 1 ? "s" : ""} it: remove or edit ${dependents.length === 1 ? "that layer" : "those layers"} too.` : ""}`,
    );
    if (editing === index) closeEditor();
    else if (editing !== null && editing > index) setEditing(editing - 1);
  }

  /** Adds a layer (editing = null) or replaces the layer being edited; catalog layers replace a layer of the same id. */
  function place(layer: Layer, opts: { replaceSameId?: boolean } = {}): PlaceResult {
    const id = idOf(layer);
    if (baseIds.has(id)) return { ok: false, message: `${id} is a package of the base manifest; give the layer another name.` };
    const existing = layers.findIndex((l) => idOf(l) === id);
    const position = (i: number) => keptBaseCount + i + 1;
    if (editing !== null) {
      if (existing >= 0 && existing !== editing) return { ok: false, message: `A layer named ${id} exists already (position ${position(existing)}); choose another name.` };
      change(
        layers.map((l, i) => (i === editing ? layer : l)),
        `Updated ${id}. Save a revision to keep it.`,
      );
      closeEditor();
      return { ok: true, message: "" };
    }
    if (existing >= 0) {
      if (!opts.replaceSameId) return { ok: false, message: `A layer named ${id} exists already (position ${position(existing)}); edit it or choose another name.` };
      change(
        layers.map((l, i) => (i === existing ? layer : l)),
        `Replaced ${id} (position ${position(existing)}) with the new definition. Save a revision to keep it.`,
      );
      return { ok: true, message: "" };
    }
    change([...layers, layer], `Added ${id} at position ${position(layers.length)}. Save a revision to keep it.`);
    return { ok: true, message: "" };
  }

  function openEditor(index: number, mode: Tab) {
    setEditing(index);
    setTab(mode);
    setFormKey((k) => k + 1);
    requestAnimationFrame(() => addPanel.current?.scrollIntoView({ behavior: "smooth", block: "start" }));
  }

  function closeEditor() {
    setEditing(null);
    setFormKey((k) => k + 1);
  }

  function selectTab(next: Tab) {
    if (editing !== null) closeEditor();
    setTab(next);
  }

  function onTabKey(event: KeyboardEvent<HTMLButtonElement>) {
    const i = TABS.findIndex((t) => t.id === tab);
    const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
    if (!step) return;
    event.preventDefault();
    const next = TABS[(i + step + TABS.length) % TABS.length].id;
    selectTab(next);
    tabRefs.current[next]?.focus();
  }

  /** Saves the layers as a new revision and returns its number; the error is shown here and thrown to the caller too. */
  async function saveRevision(): Promise<number> {
    setSaving(true);
    setSaveError(null);
    setSavedNow(null);
    try {
      setSentExcluded(excluded);
      const created = await api<{ number: number; layers: Layer[]; excludedPackages: string[] }>(`/api/v1/flavours/${flavourId}/revisions`, {
        body: { layers, excludedPackages: excluded, message, parentRevision: saved.number },
      });
      setSaved({ number: created.number, layers: created.layers, excluded: created.excludedPackages });
      setLayers(created.layers);
      setExcluded(created.excludedPackages);
      setMessage("");
      setNotice(null);
      setSavedNow(created.number);
      router.refresh();
      return created.number;
    } catch (err) {
      setSaveError(err);
      throw err;
    } finally {
      setSaving(false);
    }
  }

  function save(event: FormEvent) {
    event.preventDefault();
    // The error is shown in the form (saveError).
    saveRevision().catch(() => {});
  }

  // The header's "Save and build", the fork banner and the leave guard follow these.
  useDraftReporter({ dirty, layerCount: layers.length }, saveRevision);

  const editingLayer = editing !== null ? layers[editing] : undefined;
  const knownIds = {
    base: baseIds,
    earlier: new Set((editing !== null ? layers.slice(0, editing) : layers).map(idOf)),
    taken: new Set(layers.filter((_, i) => i !== editing).map(idOf)),
  };
  const takenIds = new Set([...baseIds, ...layers.map(idOf)]);
  const earlierLayers = editing !== null ? layers.slice(0, editing) : layers;
  const completion: YamlCompletion = {
    // Left-out base packages are not offered: a layer that requires one is refused.
    packages: () => [
      ...base.packages.filter((p) => !excluded.includes(idOf(p))).map((p) => ({ id: idOf(p), detail: "base", info: p.description || undefined })),
      ...earlierLayers.map((l) => ({ id: idOf(l), detail: "layer", info: l.description || undefined })),
    ],
    keys: PACKAGE_KEYS,
    templates: catalogTemplates(catalog),
  };
  const hasOrderProblems = orderProblems.size > 0;

  return (
    <div className="space-y-6">
      <Card title="Layers" actions={dirty ? <Badge tone="amber">Unsaved changes</Badge> : <Badge tone="emerald">Saved as revision {saved.number}</Badge>}>
        <BasePackages
          base={base}
          layers={layers}
          excluded={excluded}
          savedExcluded={saved.excluded}
          serverProblems={serverByBasePackage}
          archived={archived}
          onChange={(next, note) => {
            setExcluded(next);
            setNotice(note);
            setSaveError(null);
            setSavedNow(null);
          }}
        />

        {notice && <Alert tone="info">{notice}</Alert>}

        {layers.length === 0 ? (
          <div className="mt-3 rounded-md border border-dashed border-slate-300 px-4 py-6 text-center text-sm text-slate-600">
            <p className="font-medium text-slate-800">
              {excluded.length ? `No layers yet — this flavour builds the base manifest without ${excluded.join(", ")}.` : "No layers yet — this flavour builds exactly the base manifest."}
            </p>
            <p className="mt-1">Add one below: Debian packages or users from the catalog, a custom definition in YAML, or overlay files.</p>
          </div>
        ) : (
          <ol aria-label="Layers of this flavour" className="mt-3 space-y-2">
            {layers.map((layer, i) => {
              const id = idOf(layer);
              const state = !savedById.has(id) ? "new" : savedById.get(id) !== stableJson(layer) ? "changed" : null;
              const problems = [...(orderProblems.get(i) ?? []), ...(serverByLayer.get(i) ?? [])];
              return (
                <li
                  key={`${id}-${i}`}
                  aria-label={id}
                  className={`rounded-md border px-3 py-2.5 ${problems.length ? "border-red-300 bg-red-50/40" : editing === i ? "border-brand-500 ring-1 ring-brand-500" : "border-slate-200"}`}
                >
                  <div className="flex flex-wrap items-start justify-between gap-2">
                    <div className="min-w-0">
                      <div className="flex flex-wrap items-baseline gap-2">
                        <span className="text-xs tabular-nums text-slate-400">{keptBaseCount + i + 1}.</span>
                        <span className="font-mono text-sm font-semibold">
                          <span className="text-slate-500">{layer.category}/</span>
                          {layer.name}
                        </span>
                        <span className="rounded bg-slate-100 px-1.5 py-0.5 font-mono text-xs text-slate-700">{layer.version}</span>
                        {state === "new" && <Badge tone="brand">new</Badge>}
                        {state === "changed" && <Badge tone="amber">edited</Badge>}
                      </div>
                      {layer.description && <p className="mt-0.5 text-sm text-slate-600">{layer.description}</p>}
                      <p className="mt-1 flex flex-wrap items-center gap-1 text-xs text-slate-600">
                        <span className="text-slate-500">Requires</span>
                        {layer.requires.length === 0 ? (
                          <span className="text-slate-400">nothing</span>
                        ) : (
                          layer.requires.map((r) => (
                            <span
                              key={r}
                              className={`rounded px-1.5 py-0.5 font-mono ${excluded.includes(r) ? "bg-red-50 text-red-700 line-through" : baseIds.has(r) ? "bg-slate-100 text-slate-700" : "bg-brand-50 text-brand-700"}`}
                            >
                              {r}
                              <span className="ml-1 font-sans text-[10px] uppercase text-slate-400">{excluded.includes(r) ? "left out" : baseIds.has(r) ? "base" : "layer"}</span>
                            </span>
                          ))
                        )}
                        <span className="ml-2 text-slate-400">
                          {layer.steps.length} step{layer.steps.length === 1 ? "" : "s"} · {layer.files.length} file{layer.files.length === 1 ? "" : "s"}
                        </span>
                      </p>
                      {layer.files.length > 0 && <OverlayPreview layerId={id} files={layer.files} />}
                      {problems.length > 0 && (
                        <ul className="mt-1 space-y-0.5 text-xs text-red-700">
                          {problems.map((p, j) => (
                            <li key={j}>{p}</li>
                          ))}
                        </ul>
                      )}
                    </div>
                    {!archived && (
                      <div className="flex shrink-0 flex-wrap gap-1">
                        <Button type="button" variant="ghost" className="!px-2 !py-1 disabled:opacity-40" disabled={i === 0} onClick={() => move(i, -1)}>
                          Move up
                        </Button>
                        <Button type="button" variant="ghost" className="!px-2 !py-1 disabled:opacity-40" disabled={i === layers.length - 1} onClick={() => move(i, 1)}>
                          Move down
                        </Button>
                        <Button type="button" variant="secondary" className="!px-2 !py-1" onClick={() => openEditor(i, "yaml")}>
                          Edit
                        </Button>
                        <Button type="button" variant="secondary" className="!px-2 !py-1" onClick={() => openEditor(i, "files")}>
                          Files
                        </Button>
                        <Button type="button" variant="danger" className="!px-2 !py-1" onClick={() => remove(i)}>
                          Remove
                        </Button>
                      </div>
                    )}
                  </div>
                </li>
              );
            })}
          </ol>
        )}
        {removed.length > 0 && <p className="mt-2 text-xs text-slate-500">Removed since revision {saved.number}: {removed.join(", ")}</p>}
      </Card>

      {archived ? (
        <Alert tone="info">This flavour is archived, so its layers cannot change. Restore it (under Details) to edit it again.</Alert>
      ) : (
        <>
          <div ref={addPanel} className="scroll-mt-4">
            <Card title={editingLayer ? `Edit ${idOf(editingLayer)}` : "Add a layer"}>
              <div role="tablist" aria-label="How to add a layer" className="mb-4 flex gap-1 border-b border-slate-200">
                {TABS.map((t) => (
                  <button
                    key={t.id}
                    ref={(el) => {
                      tabRefs.current[t.id] = el;
                    }}
                    type="button"
                    role="tab"
                    id={`tab-${t.id}`}
                    aria-selected={tab === t.id}
                    aria-controls={`panel-${t.id}`}
                    tabIndex={tab === t.id ? 0 : -1}
                    onClick={() => selectTab(t.id)}
                    onKeyDown={onTabKey}
                    disabled={!hydrated || (editing !== null && t.id === "catalog")}
                    className={`-mb-px border-b-2 px-3 py-2 text-sm font-medium disabled:cursor-not-allowed disabled:opacity-40 ${tab === t.id ? "border-brand-600 text-brand-700" : "border-transparent text-slate-600 hover:text-slate-900"}`}
                  >
                    {t.label}
                  </button>
                ))}
              </div>
              <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`}>
                {tab === "catalog" && <CatalogForms entries={catalog} onPlace={(layer) => place(layer, { replaceSameId: true })} />}
                {tab === "yaml" && (
                  <CustomLayerForm
                    key={`yaml-${formKey}`}
                    initialYaml={editingLayer ? toPackageYaml(editingLayer) : CUSTOM_TEMPLATE}
                    editing={editingLayer ? idOf(editingLayer) : null}
                    knownIds={knownIds}
                    onPlace={(layer) => place(layer)}
                    onCancel={editingLayer ? closeEditor : undefined}
                    completion={completion}
                  />
                )}
                {tab === "files" && (
                  <OverlayFilesForm
                    key={`files-${formKey}`}
                    layer={editingLayer}
                    defaultName={freeName("files", takenIds)}
                    requires={baseIds.has("system/base") ? ["system/base"] : []}
                    onPlace={(layer) => place(layer)}
                    onCancel={editingLayer ? closeEditor : undefined}
                  />
                )}
              </div>
            </Card>
          </div>

          <Card title="Save revision">
            <form onSubmit={save} aria-label="Save revision" className="space-y-3" noValidate>
              <p className="text-sm text-slate-600">
                {dirty
                  ? `Saving makes revision ${saved.number + 1} from ${keptBaseCount} of ${base.packages.length} base packages and ${layers.length === 0 ? "no layers" : layers.length === 1 ? "this layer" : `these ${layers.length} layers`}; revision ${saved.number} stays as it is.`
                  : `No unsaved changes. Revision ${saved.number} is the latest.`}
              </p>
              <div className="flex flex-wrap items-end gap-3">
                <Field
                  label="Revision message (optional)"
                  value={message}
                  onChange={(e) => setMessage(e.target.value)}
                  maxLength={500}
                  placeholder="Add htop and a message of the day"
                  className="min-w-64 flex-1"
                />
                <Button type="submit" disabled={saving || !dirty || !hydrated}>
                  {saving ? "Saving…" : "Save revision"}
                </Button>
                {dirty && (
                  <Button
                    type="button"
                    variant="ghost"
                    onClick={() => {
                      setLayers(saved.layers);
                      setExcluded(saved.excluded);
                      setNotice("Discarded the unsaved changes.");
                      setSaveError(null);
                      closeEditor();
                    }}
                  >
                    Discard changes
                  </Button>
                )}
              </div>
              {hasOrderProblems && !saveError && (
                <Alert tone="info">Some layers have problems (marked in red above); the server will refuse the revision until they are fixed.</Alert>
              )}
              {saveError != null && <ProblemAlert error={saveError} title="The revision was not saved." />}
              {savedNow !== null && (
                <Alert tone="success">
                  Saved revision {savedNow}.{" "}
                  <Link href={`/flavours/${flavourId}/history?from=${savedNow > 1 ? savedNow - 1 : "base"}&to=${savedNow}`} className="font-medium underline">
                    See what changed
                  </Link>
                </Alert>
              )}
            </form>
          </Card>
        </>
      )}
    </div>
  );
}
