"use client";

// Rename, describe, archive and restore a flavour; set its from-scratch rebuild schedule.
import { useState, type FormEvent } from "react";
import { useRouter } from "next/navigation";
import { Alert } from "../ui/alert";
import { api } from "../ui/api";
import { Button } from "../ui/button";
import { Field } from "../ui/field";
import { ProblemAlert, issuesOf } from "../ui/problem";
import { useHydrated } from "../ui/use-hydrated";
import { SCRATCH_REBUILD_DAYS } from "@/lib/flavours/limits";

/** A due time the same on the server and in the browser (no time zone guessing during hydration). */
const utc = (iso: string) => `${new Date(iso).toISOString().slice(0, 16).replace("T", " ")} UTC`;

export function FlavourSettings({
  id,
  name,
  description,
  archived,
  scratchRebuildDays = null,
  nextScratchRebuildAt = null,
}: {
  id: string;
  name: string;
  description: string;
  archived: boolean;
  /** Rebuild the latest revision from scratch every this many days; null: never. */
  scratchRebuildDays?: number | null;
  /** ISO time the schedule starts the next one. */
  nextScratchRebuildAt?: string | null;
}) {
  const router = useRouter();
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const hydrated = useHydrated();

  async function patch(body: Record<string, unknown>, success: string) {
    setPending(true);
    setError(null);
    setDone(null);
    try {
      await api(`/api/v1/flavours/${id}`, { method: "PATCH", body });
      setDone(success);
      setConfirming(false);
      router.refresh();
    } catch (err) {
      setError(err);
    } finally {
      setPending(false);
    }
  }

  function saveDetails(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const next = { name: String(form.get("name") ?? ""), description: String(form.get("description") ?? "") };
    patch(next, "Saved the name and description.");
  }

  function saveSchedule(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const raw = String(new FormData(event.currentTarget).get("scratchRebuildDays") ?? "").trim();
    // Empty turns the schedule off; anything else goes to the server (as typed when not a number: NaN would be sent
    // as null, turning it off), which says what is wrong with it.
    if (raw === "") return patch({ scratchRebuildDays: null }, "Turned the from-scratch schedule off.");
    const days = Number(raw);
    patch({ scratchRebuildDays: Number.isNaN(days) ? raw : days }, `Saved: from scratch every ${days} day${days === 1 ? "" : "s"}.`);
  }

  const fieldError = (field: string) => issuesOf(error).find((i) => i.path === field)?.message;
  return (
    <div className="space-y-4">
      <form onSubmit={saveDetails} aria-label="Flavour details" className="space-y-3" noValidate>
        <Field label="Name" name="name" defaultValue={name} autoComplete="off" hint="a-z, 0-9 and '-'; a rename keeps the image repository: builds still go where the flavour's images are." error={fieldError("name")} />
        <Field label="Description" name="description" defaultValue={description} autoComplete="off" error={fieldError("description")} />
        <Button type="submit" variant="secondary" disabled={pending || !hydrated}>
          Save details
        </Button>
      </form>
      <form onSubmit={saveSchedule} aria-label="From-scratch schedule" className="space-y-3 border-t border-slate-100 pt-4" noValidate>
        <Field
          label="Rebuild from scratch every (days)"
          name="scratchRebuildDays"
          type="number"
          inputMode="numeric"
          min={SCRATCH_REBUILD_DAYS.min}
          max={SCRATCH_REBUILD_DAYS.max}
          step={1}
          defaultValue={scratchRebuildDays ?? ""}
          key={scratchRebuildDays ?? "off"}
          placeholder="never"
          autoComplete="off"
          hint={`${SCRATCH_REBUILD_DAYS.min}–${SCRATCH_REBUILD_DAYS.max} days (7 is weekly); empty for never. The latest revision is built again without the cache, so packages pick up Debian security updates; its page shows which packages changed.`}
          error={fieldError("scratchRebuildDays")}
        />
        <p className="text-sm text-slate-600" data-testid="scratch-schedule-status">
          {scratchRebuildDays === null
            ? "Off: builds only run when someone starts one, and reuse the cache."
            : archived
              ? `Every ${scratchRebuildDays} day${scratchRebuildDays === 1 ? "" : "s"}, paused while the flavour is archived.`
              : `Every ${scratchRebuildDays} day${scratchRebuildDays === 1 ? "" : "s"}; the next one is due ${nextScratchRebuildAt ? utc(nextScratchRebuildAt) : "soon"}.`}
        </p>
        <Button type="submit" variant="secondary" disabled={pending || !hydrated}>
          Save schedule
        </Button>
      </form>
      <div className="border-t border-slate-100 pt-4">
        {archived ? (
          <div className="space-y-2">
            <p className="text-sm text-slate-600">Archived: hidden from the flavour list and read-only. Its revisions are kept.</p>
            <Button type="button" variant="secondary" disabled={pending || !hydrated} onClick={() => patch({ archived: false }, "Restored the flavour.")}>
              Restore flavour
            </Button>
          </div>
        ) : confirming ? (
          <div className="space-y-2 rounded-md border border-red-200 bg-red-50 p-3">
            <p className="text-sm text-red-800">Archive {name}? It leaves the flavour list and becomes read-only; its revisions are kept and you can restore it.</p>
            <div className="flex gap-2">
              <Button type="button" variant="danger" disabled={pending} onClick={() => patch({ archived: true }, "Archived the flavour.")}>
                Yes, archive
              </Button>
              <Button type="button" variant="ghost" onClick={() => setConfirming(false)}>
                Keep it
              </Button>
            </div>
          </div>
        ) : (
          <Button type="button" variant="danger" disabled={!hydrated} onClick={() => setConfirming(true)}>
            Archive flavour
          </Button>
        )}
      </div>
      {error != null && <ProblemAlert error={error} />}
      {done && <Alert tone="success">{done}</Alert>}
    </div>
  );
}
