import { Breadcrumb } from "@/components/ui/breadcrumb";
import Link from "next/link";
import { getDb } from "@/lib/db";
import { requirePageActor } from "@/lib/auth/current";
import { getBaseManifest, listBaseManifests } from "@/lib/base-manifests/base-manifests";
import { CATALOG } from "@/lib/manifest/catalog";
import { Alert } from "@/components/ui/alert";
import { Card, PageHeader } from "@/components/ui/card";
import { Badge } from "@/components/ui/controls";
import { FlavourEditor } from "@/components/flavours/flavour-editor";
import { FlavourSettings } from "@/components/flavours/flavour-settings";
import { FlavourBuildAction, FlavourDraftProvider, WhileNoLayers } from "@/components/flavours/flavour-draft";
import { loadFlavour } from "./load";
import { config } from "@/lib/config";

export async function generateMetadata({ params }: { params: Promise<{ id: string }> }) {
  const actor = await requirePageActor();
  const { id } = await params;
  return { title: (await loadFlavour(actor, id)).name };
}

const when = (d: Date) => d.toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" });

export default async function FlavourPage({ params, searchParams }: { params: Promise<{ id: string }>; searchParams: Promise<{ forked?: string; imported?: string }> }) {
  const actor = await requirePageActor();
  const { id } = await params;
  const { forked, imported } = await searchParams;
  const flavour = await loadFlavour(actor, id);
  const { latest } = flavour;
  // Every base package, kept or not: the editor lets each be left out or kept again.
  const basePackages = (await getBaseManifest(getDb(), latest.base.id)).packages;
  const bases = await listBaseManifests(getDb());
  const current = bases.find((b) => b.id === latest.base.id);
  const newer = bases.filter((b) => current && b.name === current.name && b.createdAt > current.createdAt).sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  const archived = flavour.archivedAt !== null;
  const link = "rounded-md bg-white px-3 py-1.5 text-sm font-medium text-slate-800 ring-1 ring-slate-300 hover:bg-slate-50";
  const exportUrl = (format: string) => `/api/v1/flavours/${flavour.id}/revisions/${latest.number}/export?format=${format}`;
  return (
    // The editor's unsaved layers reach the header's build action and the fork banner through this provider.
    <FlavourDraftProvider initialLayerCount={latest.layers.length}>
      <Breadcrumb items={[{ label: "Flavours", href: "/flavours" }, { label: flavour.name }]} />
      <PageHeader
        title={flavour.name}
        description={flavour.description || undefined}
        actions={
          <div className="flex flex-wrap items-start gap-2">
            <nav aria-label="Flavour" className="flex flex-wrap gap-2">
              <Link href={`/flavours/${flavour.id}/builds`} className={link}>
                Builds
              </Link>
              <Link href={`/flavours/${flavour.id}/repository`} className={link}>
                Repository
              </Link>
              <Link href={`/flavours/${flavour.id}/channels`} className={link}>
                Channels
              </Link>
              <Link href={`/flavours/${flavour.id}/history`} className={link}>
                History
              </Link>
              <a href={exportUrl("yaml")} download className={link}>
                Export YAML
              </a>
              <a href={exportUrl("luet")} download className={link}>
                Export luet tar
              </a>
              <Link href={`/flavours/${flavour.id}/rebase`} className={link}>
                Rebase
              </Link>
            </nav>
            {!flavour.archivedAt && <FlavourBuildAction flavourId={flavour.id} revision={flavour.latest.number} />}
          </div>
        }
      />
      <dl className="mb-6 grid grid-cols-2 gap-4 rounded-lg border border-slate-200 bg-white px-5 py-3 text-sm shadow-sm sm:grid-cols-5">
        <div>
          <dt className="text-xs text-slate-500">Base manifest</dt>
          <dd>
            <Link href={`/base-manifests/${latest.base.id}`} className="text-brand-600 hover:underline">
              {latest.base.name} {latest.base.version}
            </Link>
          </dd>
        </div>
        <div>
          <dt className="text-xs text-slate-500">Latest revision</dt>
          <dd data-testid="latest-revision">
            <span className="font-mono">r{latest.number}</span>
            {latest.message && <span className="ml-2 text-slate-600">{latest.message}</span>}
          </dd>
        </div>
        <div>
          <dt className="text-xs text-slate-500">Saved</dt>
          <dd>{when(latest.createdAt)}</dd>
        </div>
        <div>
          {/* Fixed when the flavour was made: a rename keeps its images where they are. */}
          <dt className="text-xs text-slate-500">Image repository</dt>
          <dd data-testid="image-repository" className="break-all font-mono text-xs">
            {config.registryPublicUrl}/{flavour.imageRepository}
          </dd>
        </div>
        <div>
          <dt className="text-xs text-slate-500">Status</dt>
          <dd>{archived ? <Badge tone="amber">archived</Badge> : <Badge tone="emerald">active</Badge>}</dd>
        </div>
      </dl>
      <div className="mb-6 space-y-3">
        {forked && latest.number === 1 && (
          <WhileNoLayers>
            <Alert tone="success">
              Forked from {latest.base.name} {latest.base.version}. Add layers below, then save a revision.
            </Alert>
          </WhileNoLayers>
        )}
        {imported && <Alert tone="success">Imported as a new flavour: revision 1 holds the layers of the file.</Alert>}
        {newer.length > 0 && !archived && (
          <Alert tone="info">
            A newer base manifest is available: {newer[0].name} {newer[0].version}.{" "}
            <Link href={`/flavours/${flavour.id}/rebase?to=${newer[0].id}`} className="font-medium underline">
              See what a rebase would change
            </Link>
          </Alert>
        )}
      </div>
      <FlavourEditor
        flavourId={flavour.id}
        archived={archived}
        revision={latest.number}
        base={{ id: latest.base.id, name: latest.base.name, version: latest.base.version, packages: basePackages }}
        layers={latest.layers}
        excludedPackages={latest.excludedPackages}
        catalog={CATALOG.map((e) => ({ id: e.id, title: e.title, description: e.description }))}
      />
      <div className="mt-6">
        <Card title="Details">
          <FlavourSettings
            id={flavour.id}
            name={flavour.name}
            description={flavour.description}
            archived={archived}
            scratchRebuildDays={flavour.scratchRebuildDays}
            nextScratchRebuildAt={flavour.nextScratchRebuildAt?.toISOString() ?? null}
          />
        </Card>
      </div>
    </FlavourDraftProvider>
  );
}
