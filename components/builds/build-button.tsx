"use client";

// Press Build: starts a build of a flavour revision (the latest when none is given) and opens its page.
import { useState } from "react";
import { useRouter } from "next/navigation";
import { api } from "../ui/api";
import { Button } from "../ui/button";
import { ProblemAlert } from "../ui/problem";

export function BuildButton({ flavourId, revision, label = "Build" }: { flavourId: string; revision?: number; label?: string }) {
  const router = useRouter();
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function build() {
    setPending(true);
    setError(null);
    try {
      const started = await api<{ id: string }>(`/api/v1/flavours/${flavourId}/builds`, { body: revision === undefined ? {} : { revision } });
      router.push(`/builds/${started.id}`);
    } catch (err) {
      setError(err);
      setPending(false);
    }
  }

  return (
    <div className="flex flex-col items-end gap-2">
      <Button type="button" onClick={build} disabled={pending} aria-busy={pending || undefined}>
        {pending ? "Starting build…" : label}
      </Button>
      {error != null && (
        <div className="max-w-md text-left">
          <ProblemAlert error={error} title="The build did not start." />
        </div>
      )}
    </div>
  );
}
