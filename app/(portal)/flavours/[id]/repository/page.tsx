import { Breadcrumb } from "@/components/ui/breadcrumb";
import Link from "next/link";
import { getDb } from "@/lib/db";
import { requirePageActor } from "@/lib/auth/current";
import { listRepositoryRevisions } from "@/lib/repository/queries";
import { Card, PageHeader } from "@/components/ui/card";
import { formatBytes } from "@/components/builds/format";
import { CompareForm } from "@/components/repository/compare-form";
import { Alert } from "@/components/ui/alert";
import { oneParam, Pager } from "@/components/ui/pager";
import { loadPage } from "@/lib/api/cursor";
import { repositoryPath } from "@/components/repository/format";
import { loadFlavour } from "../load";

export async function generateMetadata({ params }: { params: Promise<{ id: string }> }) {
  const actor = await requirePageActor();
  const { id } = await params;
  return { title: `Repository of ${(await loadFlavour(actor, id)).name}` };
}

const when = (d: Date) => d.toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" });

/** Revisions per page: every successful build adds one, and the page stays small however many there are. */
const PAGE_SIZE = 50;

export default async function RepositoryPage({ params, searchParams }: { params: Promise<{ id: string }>; searchParams: Promise<{ cursor?: string | string[] }> }) {
  const actor = await requirePageActor();
  const { id } = await params;
  const cursor = oneParam((await searchParams).cursor);
  const flavour = await loadFlavour(actor, id);
  const db = getDb();
  const { page, problem } = await loadPage((c) => listRepositoryRevisions(db, actor, flavour.id, { cursor: c, limit: PAGE_SIZE }), cursor);
  const { revisions, next } = page;
  // The compare form starts at the previous → the latest revision, whichever page the table is on.
  const onFirstPage = !cursor || problem !== null;
  const newest = onFirstPage ? revisions : (await listRepositoryRevisions(db, actor, flavour.id, { limit: 2 })).revisions;
  const latest = newest[0]?.number ?? 0;
  const link = "rounded-md bg-white px-3 py-1.5 text-sm font-medium text-slate-800 ring-1 ring-slate-300 hover:bg-slate-50";
  return (
    <>
      <Breadcrumb items={[{ label: "Flavours", href: "/flavours" }, { label: flavour.name, href: `/flavours/${flavour.id}` }, { label: "Repository" }]} />
      <PageHeader
        title={`Repository of ${flavour.name}`}
        description="Every successful build publishes an immutable, numbered revision of this package repository: each package's artefact, its files and metadata, and the Debian packages in the image."
        actions={
          <Link href={`/flavours/${flavour.id}/builds`} className={link}>
            Builds
          </Link>
        }
      />
      <div className="space-y-6">
        <Card title="Revisions">
          {problem && (
            <div className="mb-4">
              <Alert tone="error">{problem}</Alert>
            </div>
          )}
          {revisions.length === 0 ? (
            <div className="py-6 text-center text-sm text-slate-600">
              <p className="font-medium text-slate-800">No revisions yet.</p>
              <p className="mt-1">
                The first successful build publishes revision 1.{" "}
                <Link href={`/flavours/${flavour.id}/builds`} className="text-brand-600 hover:underline">
                  Build this flavour
                </Link>{" "}
                and come back when it has succeeded.
              </p>
            </div>
          ) : (
            <div className="-mx-5 overflow-x-auto">
              <table className="w-full text-left text-sm">
                <caption className="sr-only">Revisions of the repository of {flavour.name}, newest first</caption>
                <thead className="text-xs uppercase text-slate-500">
                  <tr>
                    <th scope="col" className="py-2 pr-3 pl-5">
                      Revision
                    </th>
                    <th scope="col" className="px-3">
                      Published
                    </th>
                    <th scope="col" className="px-3">
                      Build
                    </th>
                    <th scope="col" className="px-3 text-right">
                      Packages
                    </th>
                    <th scope="col" className="px-3 text-right">
                      Files
                    </th>
                    <th scope="col" className="px-3 text-right">
                      Compressed
                    </th>
                    <th scope="col" className="px-3 text-right">
                      Unpacked
                    </th>
                    <th scope="col" className="py-2 pr-5 pl-3 text-right">
                      Debian packages
                    </th>
                  </tr>
                </thead>
                <tbody className="divide-y divide-slate-100">
                  {revisions.map((r) => (
                    <tr key={r.id} aria-label={`Revision ${r.number}`}>
                      <td className="py-2.5 pr-3 pl-5">
                        <Link href={repositoryPath(flavour.id, r.number)} className="font-medium text-brand-600 hover:underline">
                          Revision {r.number}
                        </Link>
                      </td>
                      <td className="px-3 whitespace-nowrap text-slate-600">{when(r.createdAt)}</td>
                      <td className="px-3">
                        <Link href={`/builds/${r.buildId}`} className="font-mono text-xs text-brand-600 hover:underline" aria-label={`Build ${r.version}`}>
                          {r.version}
                        </Link>
                      </td>
                      <td className="px-3 text-right tabular-nums">{r.packageCount}</td>
                      <td className="px-3 text-right tabular-nums text-slate-600">{r.fileCount.toLocaleString("en-GB")}</td>
                      <td className="px-3 text-right whitespace-nowrap tabular-nums">{formatBytes(r.size)}</td>
                      <td className="px-3 text-right whitespace-nowrap tabular-nums text-slate-600">{formatBytes(r.uncompressedSize)}</td>
                      <td className="py-2.5 pr-5 pl-3 text-right tabular-nums text-slate-600">{r.debianPackageCount}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <Pager
            label="Pages of revisions"
            path={`/flavours/${flavour.id}/repository`}
            filters={{}}
            next={next}
            onFirstPage={onFirstPage}
            shown={revisions.length > 0 ? `Revisions ${revisions[0].number}${revisions.length > 1 ? `–${revisions[revisions.length - 1].number}` : ""} of ${latest}` : undefined}
            firstLabel="Newest revisions"
            nextLabel="Older revisions"
          />
        </Card>
        {newest.length > 1 && (
          <Card title="Compare">
            <p className="mb-3 text-sm text-slate-600">See which packages, files and Debian packages differ between two revisions, and by how much the repository grew.</p>
            <CompareForm flavourId={flavour.id} latest={latest} from={newest[1].number} to={latest} />
          </Card>
        )}
      </div>
    </>
  );
}
