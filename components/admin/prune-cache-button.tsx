"use client";

// "Prune now" in the admin area's cache page: runs the prune the schedule runs, then shows what it removed.
import { api } from "../ui/api";
import { Alert } from "../ui/alert";
import { Button } from "../ui/button";
import { ProblemAlert } from "../ui/problem";
import { useMutation } from "../ui/use-mutation";
import { formatBytes } from "../builds/format";

interface PruneRun {
  removedImages: number;
  removedTags: number;
  freedBytes: number;
  error: string | null;
}

export function PruneCacheButton({ maxAgeDays }: { maxAgeDays: number }) {
  const { run, pending, error, done } = useMutation();
  const prune = () =>
    run(
      "prune",
      () => api<{ prune: PruneRun }>("/api/v1/admin/cache/prune", { method: "POST" }),
      ({ prune: p }) =>
        `Pruned: removed ${p.removedImages} ${p.removedImages === 1 ? "image" : "images"} from the engine and ${p.removedTags} ${p.removedTags === 1 ? "tag" : "tags"} from the registry, freed ${formatBytes(p.freedBytes)}.${p.error ? ` ${p.error}` : ""}`,
    );
  return (
    <div className="space-y-3">
      <div className="flex flex-wrap items-center gap-3">
        <Button type="button" onClick={prune} disabled={pending !== null}>
          {pending ? "Pruning…" : "Prune now"}
        </Button>
        <span className="text-xs text-slate-500">Removes cache images no build used for {maxAgeDays} days, except those published or running builds need.</span>
      </div>
      {error !== null && <ProblemAlert error={error} title="The cache was not pruned" />}
      {done && <Alert tone="success">{done}</Alert>}
    </div>
  );
}
