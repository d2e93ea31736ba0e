import { Breadcrumb } from "@/components/ui/breadcrumb";
import Link from "next/link";
import { getDb } from "@/lib/db";
import { requirePageActor } from "@/lib/auth/current";
import { listBaseManifests } from "@/lib/base-manifests/base-manifests";
import { previewRebase } from "@/lib/flavours/flavours";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, PageHeader } from "@/components/ui/card";
import { SelectField } from "@/components/ui/controls";
import { DiffView } from "@/components/flavours/diff-view";
import { RebaseConfirm } from "@/components/flavours/rebase-confirm";
import { loadFlavour } from "../load";

export async function generateMetadata({ params }: { params: Promise<{ id: string }> }) {
  const actor = await requirePageActor();
  const { id } = await params;
  return { title: `Rebase ${(await loadFlavour(actor, id)).name}` };
}

export default async function RebasePage({ params, searchParams }: { params: Promise<{ id: string }>; searchParams: Promise<{ to?: string }> }) {
  const actor = await requirePageActor();
  const { id } = await params;
  const { to } = await searchParams;
  const flavour = await loadFlavour(actor, id);
  const db = getDb();
  const current = flavour.latest.base;
  const bases = await listBaseManifests(db);
  const currentRow = bases.find((b) => b.id === current.id);
  const candidates = bases
    .filter((b) => b.id !== current.id)
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
    .map((b) => ({
      ...b,
      // Versions of one base manifest share its name; another name is a different foundation altogether.
      relation: b.name !== current.name ? "another manifest" : !currentRow || b.createdAt > currentRow.createdAt ? "newer" : "older",
    }));
  const target = candidates.find((b) => b.id === to);
  const preview = target ? await previewRebase(db, actor, flavour.id, target.id) : null;
  const archived = flavour.archivedAt !== null;
  const label = (b: { name: string; version: string }) => `${b.name} ${b.version}`;

  return (
    <>
      <Breadcrumb items={[{ label: "Flavours", href: "/flavours" }, { label: flavour.name, href: `/flavours/${flavour.id}` }, { label: "Rebase" }]} />
      <PageHeader
        title={`Rebase ${flavour.name}`}
        description={`Move the layers of revision ${flavour.latest.number} onto another base-manifest version. The flavour is on ${label(current)} now.`}
      />
      <div className="space-y-6">
        <Card title="Base version to rebase onto">
          {candidates.length === 0 ? (
            <p className="text-sm text-slate-600">
              {label(current)} is the only base-manifest version, so there is nothing to rebase onto yet. When an administrator publishes a newer version on the{" "}
              <Link href="/base-manifests" className="text-brand-600 hover:underline">
                Base manifest
              </Link>{" "}
              page, come back here.
            </p>
          ) : (
            <form method="get" action={`/flavours/${flavour.id}/rebase`} aria-label="Choose a base version" className="flex flex-wrap items-end gap-3">
              <SelectField label="New base version" name="to" defaultValue={target?.id ?? candidates.find((c) => c.relation === "newer")?.id ?? candidates[0].id} className="w-80">
                {candidates.map((b) => (
                  <option key={b.id} value={b.id}>
                    {label(b)} ({b.relation})
                  </option>
                ))}
              </SelectField>
              <Button type="submit" variant="secondary">
                Preview rebase
              </Button>
            </form>
          )}
          {to && !target && (
            <div className="mt-3">
              <Alert tone="error">That base-manifest version does not exist (or is the one the flavour is on already); choose one from the list.</Alert>
            </div>
          )}
        </Card>

        {preview && target && (
          <>
            <Card title="What changes">
              <DiffView
                diff={preview.diff}
                from={`revision ${flavour.latest.number} on ${label(preview.from)}`}
                to={`the same layers on ${label(preview.to)}`}
                excluded={{ from: flavour.latest.excludedPackages, to: preview.excludedPackages }}
              />
              {(preview.excludedPackages.length > 0 || preview.notes.length > 0) && (
                <div className="mt-4 space-y-2 text-sm text-slate-700">
                  {preview.excludedPackages.length > 0 && (
                    <p>
                      The rebased revision still leaves out <span className="font-mono text-xs">{preview.excludedPackages.join(", ")}</span>.
                    </p>
                  )}
                  {preview.notes.length > 0 && (
                    <Alert tone="info">
                      {preview.notes.map((n) => (
                        <p key={n}>{n}</p>
                      ))}
                    </Alert>
                  )}
                </div>
              )}
            </Card>
            <Card title="Confirm">
              {preview.problems.length > 0 ? (
                <Alert tone="error">
                  <p className="font-medium">Your layers or the base packages you leave out do not fit {label(preview.to)} as they are:</p>
                  <ul className="mt-1 list-disc pl-5">
                    {preview.problems.map((p, i) => (
                      <li key={i}>
                        <code className="font-mono text-xs">{p.path}</code>: {p.message}
                      </li>
                    ))}
                  </ul>
                  <p className="mt-1">
                    Fix them on the{" "}
                    <Link href={`/flavours/${flavour.id}`} className="underline">
                      layer editor
                    </Link>{" "}
                    (e.g. change what a layer requires, or keep a base package again), save, then come back.
                  </p>
                </Alert>
              ) : (
                <p className="mb-3 text-sm text-slate-600">
                  The layers fit. Rebasing saves revision {flavour.latest.number + 1} on {label(preview.to)}; revision {flavour.latest.number} stays as it is.
                </p>
              )}
              {archived && <Alert tone="info">This flavour is archived; restore it before rebasing.</Alert>}
              {preview.problems.length === 0 && (
                <RebaseConfirm flavourId={flavour.id} target={{ id: target.id, label: label(target) }} parentRevision={flavour.latest.number} disabled={archived} />
              )}
            </Card>
          </>
        )}
      </div>
    </>
  );
}
