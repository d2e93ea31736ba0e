import { Breadcrumb } from "@/components/ui/breadcrumb";
import Link from "next/link";
import { getDb } from "@/lib/db";
import { requirePageActor } from "@/lib/auth/current";
import { listBuilds } from "@/lib/builds/builds";
import { Card, PageHeader } from "@/components/ui/card";
import { AutoRefresh } from "@/components/builds/auto-refresh";
import { BuildButton } from "@/components/builds/build-button";
import { BuildStatusBadge, PackageProgress } from "@/components/builds/status";
import { VersionMeaning, VersionName } from "@/components/builds/version-name";
import { buildDuration, formatDuration, isActive } from "@/components/builds/format";
import { ImportForm } from "@/components/builds/import-form";
import { importReferenceExample } from "@/lib/builds/import";
import { loadFlavour } from "../load";
import { loadPage } from "@/lib/api/cursor";
import { BUILD_STATUSES, type BuildStatus } from "@/lib/db/schema";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { SelectField } from "@/components/ui/controls";
import { Field } from "@/components/ui/field";
import { oneParam, Pager } from "@/components/ui/pager";

export async function generateMetadata({ params }: { params: Promise<{ id: string }> }) {
  const actor = await requirePageActor();
  const { id } = await params;
  return { title: `Builds of ${(await loadFlavour(actor, id)).name}` };
}

const when = (d: Date) => d.toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" });

/** Builds per page: every build stays reachable through "Older builds", and the page stays small. */
const PAGE_SIZE = 50;

type Search = Record<"status" | "revision" | "q" | "cursor", string | string[] | undefined>;

export default async function FlavourBuildsPage({ params, searchParams }: { params: Promise<{ id: string }>; searchParams: Promise<Search> }) {
  const actor = await requirePageActor();
  const { id } = await params;
  const query = await searchParams;
  const flavour = await loadFlavour(actor, id);
  // Filters that do not parse are dropped with a message, never an error page.
  const problems: string[] = [];
  const statusParam = oneParam(query.status) || undefined;
  const status = BUILD_STATUSES.includes(statusParam as BuildStatus) ? (statusParam as BuildStatus) : undefined;
  if (statusParam && !status) problems.push(`There is no build status "${statusParam}"; showing every status.`);
  const revisionParam = oneParam(query.revision)?.trim().replace(/^r/i, "") || undefined;
  const revision = revisionParam && /^[0-9]{1,9}$/.test(revisionParam) && Number(revisionParam) > 0 ? Number(revisionParam) : undefined;
  if (revisionParam && revision === undefined) problems.push(`"${oneParam(query.revision)}" is not a revision number (such as 3 or r3); showing every revision.`);
  const q = oneParam(query.q)?.trim().slice(0, 100) || undefined;
  const cursor = oneParam(query.cursor);
  const { page, problem } = await loadPage((c) => listBuilds(getDb(), actor, flavour.id, { status, revision, q, cursor: c, limit: PAGE_SIZE }), cursor);
  if (problem) problems.push(problem);
  const { builds, next } = page;
  const filters = { status, revision, q };
  const filtered = status !== undefined || revision !== undefined || q !== undefined;
  const path = `/flavours/${flavour.id}/builds`;
  const now = Date.now();
  const archived = flavour.archivedAt !== null;
  const importExample = importReferenceExample(flavour);
  return (
    <>
      <AutoRefresh active={builds.some((b) => isActive(b.status))} />
      <Breadcrumb items={[{ label: "Flavours", href: "/flavours" }, { label: flavour.name, href: `/flavours/${flavour.id}` }, { label: "Builds" }]} />
      <PageHeader
        title={`Builds of ${flavour.name}`}
        description={`Each build turns a revision into an OS image in the registry, versioned r<revision>.<build> (r${flavour.latest.number}.1 is the first build of revision ${flavour.latest.number}). Build builds the latest revision, r${flavour.latest.number} (${flavour.latest.packages.length} packages).`}
        actions={
          <div className="flex flex-wrap items-start gap-2">
            <Link href={`/flavours/${flavour.id}/repository`} className="rounded-md bg-white px-3.5 py-2 text-sm font-medium text-slate-800 shadow-sm ring-1 ring-slate-300 hover:bg-slate-50">
              Repository
            </Link>
            {!archived && <BuildButton flavourId={flavour.id} />}
          </div>
        }
      />
      {archived && (
        <p className="mb-6 rounded-lg border border-amber-200 bg-amber-50 px-5 py-3 text-sm text-amber-900">
          This flavour is archived; restore it on{" "}
          <Link href={`/flavours/${flavour.id}`} className="font-medium underline">
            its page
          </Link>{" "}
          to build it again.
        </p>
      )}
      <Card title="Builds">
        <form method="get" action={path} role="search" aria-label="Filter builds" className="mb-4 flex flex-wrap items-end gap-3">
          <SelectField label="Status" name="status" defaultValue={status ?? ""} className="w-40">
            <option value="">Any status</option>
            {BUILD_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </SelectField>
          <Field label="Revision" name="revision" inputMode="numeric" placeholder="e.g. 3" defaultValue={revision ?? ""} className="w-28" />
          <Field label="Version contains" name="q" type="search" placeholder="e.g. r3.1" defaultValue={q ?? ""} maxLength={100} className="w-44" />
          <Button type="submit" variant="secondary">
            Filter
          </Button>
          {filtered && (
            <Link href={path} className="py-2 text-sm text-brand-600 hover:underline">
              Clear filters
            </Link>
          )}
        </form>
        {problems.length > 0 && (
          <div className="mb-4">
            <Alert tone="error">
              {problems.map((p) => (
                <p key={p}>{p}</p>
              ))}
            </Alert>
          </div>
        )}
        {builds.length === 0 && filtered ? (
          <p className="py-4 text-sm text-slate-600">
            No build matches these filters.{" "}
            <Link href={path} className="text-brand-600 hover:underline">
              Show every build
            </Link>
            .
          </p>
        ) : builds.length === 0 ? (
          <div className="py-6 text-center text-sm text-slate-600">
            <p className="font-medium text-slate-800">No builds yet.</p>
            <p className="mt-1">
              {archived ? (
                "Restore the flavour to build it."
              ) : (
                <>
                  Press <span className="font-medium">Build</span> to build revision r{flavour.latest.number} into an image; you can follow it live and leave the page while it runs.
                  To change what goes in first,{" "}
                  <Link href={`/flavours/${flavour.id}`} className="text-brand-600 hover:underline">
                    edit the layers
                  </Link>
                  .
                </>
              )}
            </p>
          </div>
        ) : (
          <div className="-mx-5 overflow-x-auto">
            <table className="w-full text-left text-sm">
              <caption className="sr-only">Builds of {flavour.name}, newest first</caption>
              <thead className="text-xs uppercase text-slate-500">
                <tr>
                  <th scope="col" className="py-2 pr-3 pl-5">
                    Version
                  </th>
                  <th scope="col" className="px-3">
                    Status
                  </th>
                  <th scope="col" className="px-3">
                    Progress
                  </th>
                  <th scope="col" className="px-3 text-right">
                    Duration
                  </th>
                  <th scope="col" className="px-3">
                    Started by
                  </th>
                  <th scope="col" className="py-2 pr-5 pl-3">
                    Created
                  </th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100">
                {builds.map((b) => (
                  <tr key={b.id}>
                    <td className="py-2.5 pr-3 pl-5">
                      <Link
                        href={`/builds/${b.id}`}
                        className="font-medium text-brand-600 hover:underline"
                        aria-label={`Build ${b.version}`}
                        aria-describedby={`version-meaning-${b.id}`}
                      >
                        <VersionName version={b.version} />
                      </Link>
                      <VersionMeaning id={`version-meaning-${b.id}`} version={b.version} revisionNumber={b.revisionNumber} className="block text-xs whitespace-nowrap text-slate-500" />
                      {b.kind === "import" && (
                        <span className="mt-0.5 inline-block rounded bg-violet-50 px-1.5 py-0.5 text-xs text-violet-800 ring-1 ring-violet-200" title={b.sourceReference ?? undefined}>
                          imported, made by hand
                        </span>
                      )}
                      {b.fromScratch && (
                        <span className="mt-0.5 block w-fit rounded bg-amber-50 px-1.5 py-0.5 text-xs whitespace-nowrap text-amber-800 ring-1 ring-amber-200" title="Every package built again without the cache">
                          from scratch{b.scheduled ? ", scheduled" : ""}
                        </span>
                      )}
                    </td>
                    <td className="px-3">
                      <BuildStatusBadge status={b.status} />
                    </td>
                    <td className="px-3">
                      <PackageProgress done={b.donePackages} total={b.totalPackages} status={b.status} phase={b.phase} label={`Packages built in ${b.version}`} />
                    </td>
                    <td className="px-3 text-right whitespace-nowrap tabular-nums text-slate-600">{formatDuration(buildDuration(b, now))}</td>
                    <td className="px-3 text-slate-700">{b.startedBy?.name || b.startedBy?.email || (b.scheduled ? "the schedule" : <span className="text-slate-400">—</span>)}</td>
                    <td className="py-2.5 pr-5 pl-3 whitespace-nowrap text-slate-600">{when(b.createdAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <Pager
          label="Pages of builds"
          path={path}
          filters={filters}
          next={next}
          onFirstPage={!cursor || problem !== null}
          firstLabel="Newest builds"
          nextLabel="Older builds"
        />
      </Card>
      {!archived && (
        <Card title="Import an image" className="mt-6">
          <ImportForm flavourId={flavour.id} example={importExample} />
        </Card>
      )}
    </>
  );
}
