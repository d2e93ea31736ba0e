"use client";

// Press Build: starts a build of a flavour revision (the latest when none is given) and opens its page. Beside it,
// "Build from scratch": every package built again without the cache, after a word on what that costs.
import { useState } from "react";
import { useRouter } from "next/navigation";
import { api } from "../ui/api";
import { Button } from "../ui/button";
import { ProblemAlert } from "../ui/problem";

export function BuildButton({ flavourId, revision, label = "Build" }: { flavourId: string; revision?: number; label?: string }) {
  const router = useRouter();
  const [pending, setPending] = useState<"cached" | "scratch" | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function build(fromScratch: boolean) {
    setPending(fromScratch ? "scratch" : "cached");
    setError(null);
    try {
      const body = { ...(revision === undefined ? {} : { revision }), ...(fromScratch ? { cache: false } : {}) };
      const started = await api<{ id: string }>(`/api/v1/flavours/${flavourId}/builds`, { body });
      router.push(`/builds/${started.id}`);
    } catch (err) {
      setError(err);
      setPending(null);
    }
  }

  return (
    <div className="flex flex-col items-end gap-2">
      <div className="flex gap-2">
        <Button type="button" variant="secondary" onClick={() => setConfirming((c) => !c)} disabled={pending !== null} aria-expanded={confirming}>
          Build from scratch…
        </Button>
        <Button type="button" onClick={() => build(false)} disabled={pending !== null} aria-busy={pending === "cached" || undefined}>
          {pending === "cached" ? "Starting build…" : label}
        </Button>
      </div>
      {confirming && (
        <div role="group" aria-label="Build from scratch" className="max-w-md space-y-2 rounded-md border border-amber-200 bg-amber-50 p-3 text-left text-sm text-amber-900">
          <p>
            Every package is built again, without the cache: it takes as long as a first build, and picks up what cached layers never see (such as Debian
            security updates). The new results replace the cached ones, and the build page shows which packages changed.
          </p>
          <div className="flex gap-2">
            <Button type="button" onClick={() => build(true)} disabled={pending !== null} aria-busy={pending === "scratch" || undefined}>
              {pending === "scratch" ? "Starting build…" : "Yes, build from scratch"}
            </Button>
            <Button type="button" variant="ghost" onClick={() => setConfirming(false)} disabled={pending !== null}>
              Cancel
            </Button>
          </div>
        </div>
      )}
      {error != null && (
        <div className="max-w-md text-left">
          <ProblemAlert error={error} title="The build did not start." />
        </div>
      )}
    </div>
  );
}
