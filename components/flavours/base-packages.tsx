"use client";

// The base packages of a flavour in the editor: which the flavour keeps, which it leaves out, what requires each,
// and why a package cannot be left out. Changes join the editor's unsaved changes; "Save revision" keeps them.
import { useState } from "react";
import { essentialReason } from "@/lib/manifest/essential";
import { exclusionProblems } from "@/lib/flavours/kept-packages";
import { Badge } from "../ui/controls";
import { Button } from "../ui/button";
import { idOf, type Layer } from "./layer-utils";

export interface BasePackagesProps {
  base: { name: string; version: string; packages: Layer[] };
  layers: Layer[];
  /** Ids left out in the editor now, in base order. */
  excluded: string[];
  /** Ids the saved revision leaves out. */
  savedExcluded: string[];
  /** Problems the server reported, by package id. */
  serverProblems: Map<string, string[]>;
  archived: boolean;
  onChange: (excluded: string[], note: string) => void;
}

export function BasePackages({ base, layers, excluded, savedExcluded, serverProblems, archived, onChange }: BasePackagesProps) {
  const [refusal, setRefusal] = useState<{ id: string; message: string } | null>(null);
  // Open from the start when the flavour leaves something out; the user's own toggle wins afterwards.
  const [open, setOpen] = useState(excluded.length > 0);
  // Opens when the server reports problems (adjusted while rendering, as React advises, rather than in an effect).
  const hasServerProblems = serverProblems.size > 0;
  const [hadServerProblems, setHadServerProblems] = useState(false);
  if (hasServerProblems !== hadServerProblems) {
    setHadServerProblems(hasServerProblems);
    if (hasServerProblems) setOpen(true);
  }
  const out = new Set(excluded);
  const kept = base.packages.filter((p) => !out.has(idOf(p)));
  // Problems of the choice as it stands (a layer added since may require a left-out package), on the left-out package.
  const standing = new Map<string, string[]>();
  for (const issue of exclusionProblems(base.packages, layers, excluded, `${base.name} ${base.version}`))
    if (issue.path.startsWith("excludedPackages")) standing.set(issue.package, [...(standing.get(issue.package) ?? []), issue.message]);
  const inBaseOrder = (ids: Set<string>) => base.packages.map(idOf).filter((id) => ids.has(id));

  function leaveOut(id: string) {
    const next = inBaseOrder(new Set([...excluded, id]));
    const problems = exclusionProblems(base.packages, layers, next, `${base.name} ${base.version}`).filter((p) => p.package === id && p.path.startsWith("excludedPackages"));
    if (problems.length) {
      setRefusal({ id, message: problems.map((p) => p.message).join(" ") });
      return;
    }
    setRefusal(null);
    onChange(next, `Left out ${id}: builds of the next revision skip it. Save a revision to keep the change.`);
  }

  function keep(id: string) {
    setRefusal(null);
    onChange(inBaseOrder(new Set(excluded.filter((x) => x !== id))), `Kept ${id} again. Save a revision to keep the change.`);
  }

  return (
    <details className="group mb-3 rounded-md border border-slate-200 bg-slate-50" open={open} onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary className="cursor-pointer px-3 py-2 text-sm">
        <span className="font-medium">Base packages</span>{" "}
        <span className="text-slate-500">
          — {base.name} {base.version}, {kept.length} of {base.packages.length} package{base.packages.length === 1 ? "" : "s"} kept, built first
          {!archived && "; leave out those this flavour does not need"}
        </span>
      </summary>
      <ol aria-label="Base packages of this flavour" className="divide-y divide-slate-200 border-t border-slate-200 text-sm">
        {base.packages.map((p) => {
          const id = idOf(p);
          const isOut = out.has(id);
          const reason = essentialReason(id);
          const requiredBy = [...kept.filter((k) => k.requires.includes(id)).map(idOf), ...layers.filter((l) => l.requires.includes(id)).map(idOf)];
          const problems = [...(standing.get(id) ?? []), ...(serverProblems.get(id) ?? [])];
          const changed = isOut !== savedExcluded.includes(id);
          const position = kept.findIndex((k) => idOf(k) === id);
          return (
            <li
              key={id}
              aria-label={id}
              className={`flex flex-wrap items-start justify-between gap-x-3 gap-y-1 px-3 py-1.5 ${problems.length ? "bg-red-50/60" : isOut ? "bg-white/60" : ""}`}
            >
              <div className="min-w-0 flex-1">
                <div className="flex flex-wrap items-baseline gap-x-3 gap-y-0.5">
                  <span className="w-5 text-right text-xs tabular-nums text-slate-400">{isOut ? "–" : position + 1}</span>
                  <span className={`font-mono text-xs font-medium ${isOut ? "text-slate-400 line-through" : ""}`}>{id}</span>
                  <span className="font-mono text-xs text-slate-500">{p.version}</span>
                  {isOut && <Badge tone="amber">left out</Badge>}
                  {reason && <Badge tone="slate">essential</Badge>}
                  {changed && <Badge tone="brand">unsaved</Badge>}
                  {requiredBy.length > 0 && <span className="text-xs text-brand-700">required by {requiredBy.join(", ")}</span>}
                </div>
                {reason && (
                  <p className="mt-0.5 pl-8 text-xs text-slate-600">
                    Cannot be left out: {reason}
                  </p>
                )}
                {refusal?.id === id && (
                  <p role="alert" className="mt-0.5 pl-8 text-xs font-medium text-red-700">
                    Cannot leave it out: {refusal.message}
                  </p>
                )}
                {problems.length > 0 && (
                  <ul className="mt-0.5 space-y-0.5 pl-8 text-xs text-red-700">
                    {problems.map((m, j) => (
                      <li key={j}>{m}</li>
                    ))}
                  </ul>
                )}
              </div>
              {!archived && !reason && (
                <Button
                  type="button"
                  variant={isOut ? "secondary" : "ghost"}
                  className="!px-2 !py-0.5 text-xs"
                  aria-label={`${isOut ? "Keep" : "Leave out"} ${id}`}
                  onClick={() => (isOut ? keep(id) : leaveOut(id))}
                >
                  {isOut ? "Keep" : "Leave out"}
                </Button>
              )}
            </li>
          );
        })}
      </ol>
    </details>
  );
}
