import { Breadcrumb } from "@/components/ui/breadcrumb";
import Link from "next/link";
import { requirePageActor } from "@/lib/auth/current";
import { Card, PageHeader } from "@/components/ui/card";
import { digestReference, formatBytes } from "@/components/builds/format";
import { Copyable } from "@/components/ui/copyable";
import { DebianPackageTable } from "@/components/repository/debian-table";
import { FileSearch } from "@/components/repository/file-search";
import { RevisionPackageTable } from "@/components/repository/package-table";
import { SizeChart } from "@/components/repository/size-chart";
import { revisionApi } from "@/components/repository/format";
import { loadRevision } from "../load";
import { Stat } from "@/components/ui/stat";

export async function generateMetadata({ params }: { params: Promise<{ id: string; number: string }> }) {
  const actor = await requirePageActor();
  const { id, number } = await params;
  const { flavour, revision } = await loadRevision(actor, id, number);
  return { title: `Repository revision ${revision.number} of ${flavour.name}` };
}

const when = (d: Date) => d.toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" });

export default async function RepositoryRevisionPage({ params }: { params: Promise<{ id: string; number: string }> }) {
  const actor = await requirePageActor();
  const { id, number } = await params;
  const { flavour, revision, previous, packages, debianPackages } = await loadRevision(actor, id, number);
  const api = revisionApi(flavour.id, revision.number);
  const action = "rounded-md bg-white px-3 py-1.5 text-sm font-medium text-slate-800 ring-1 ring-slate-300 hover:bg-slate-50";
  const download = "inline-flex items-center gap-1 rounded-md bg-white px-2.5 py-1 text-xs font-medium text-slate-800 ring-1 ring-slate-300 hover:bg-slate-50";
  const layers = packages.filter((p) => !p.fromBase).length;
  const cached = packages.filter((p) => p.cached).length;
  return (
    <>
      <Breadcrumb
        items={[
          { label: "Flavours", href: "/flavours" },
          { label: flavour.name, href: `/flavours/${flavour.id}` },
          { label: "Repository", href: `/flavours/${flavour.id}/repository` },
          { label: `Revision ${revision.number}` },
        ]}
      />
      <PageHeader
        title={`Repository revision ${revision.number}`}
        description={`${flavour.name} · published ${when(revision.createdAt)} by build ${revision.version} · ${packages.length} packages (${layers} from your layers), ${cached} reused from the cache. Immutable: a later build publishes a new revision.`}
        actions={
          previous !== null ? (
            <Link href={`/flavours/${flavour.id}/repository/diff?from=${previous}&to=${revision.number}`} className={action}>
              Compare with revision {previous}
            </Link>
          ) : undefined
        }
      />
      <div className="space-y-6">
        <Card title="Revision">
          <dl className="space-y-3">
            <Copyable label="Registry reference" value={revision.reference} testId="revision-reference" />
            <Copyable label="Index digest" value={revision.indexDigest} testId="index-digest" />
            <div>
              <dt className="text-xs font-medium text-slate-500">Image</dt>
              <dd className="mt-1 text-sm">
                {revision.imageRef ? (
                  <code className="font-mono text-[13px] break-all text-slate-800">
                    {revision.imageDigest ? digestReference(revision.imageRef, revision.imageDigest) : revision.imageRef}
                  </code>
                ) : (
                  <span className="text-slate-400">not recorded</span>
                )}
                <span className="text-slate-600">
                  {" "}
                  from build{" "}
                  <Link href={`/builds/${revision.buildId}`} className="font-mono text-brand-600 hover:underline">
                    {revision.version}
                  </Link>
                </span>
              </dd>
            </div>
            <div>
              <dt className="text-xs font-medium text-slate-500">Downloads</dt>
              <dd className="mt-1 flex flex-wrap gap-2">
                <a href={`${api}/index.json?download`} download className={download}>
                  index.json
                </a>
                <a href={`${api}/repository.yaml?download`} download className={download}>
                  repository.yaml (luet)
                </a>
                <a href={`${api}/sbom.spdx.json?download`} download className={download}>
                  SBOM (SPDX JSON)
                </a>
              </dd>
            </div>
          </dl>
          <dl className="mt-4 grid grid-cols-2 gap-4 border-t border-slate-100 pt-3 text-sm sm:grid-cols-5">
            <Stat label="Packages" className="tabular-nums">{revision.packageCount}</Stat>
            <Stat label="Files" className="tabular-nums">{revision.fileCount.toLocaleString("en-GB")}</Stat>
            <Stat label="Compressed" className="tabular-nums">{formatBytes(revision.size)}</Stat>
            <Stat label="Unpacked" className="tabular-nums">{formatBytes(revision.uncompressedSize)}</Stat>
            <Stat label="Debian packages" className="tabular-nums">{revision.debianPackageCount}</Stat>
          </dl>
          <p className="mt-3 text-xs text-slate-500">
            The revision is an OCI artifact: the index is its config (the sha256 of index.json is the index digest), each package&apos;s artefact a blob. Any OCI client
            that can reach the registry can pull it by this reference.
          </p>
        </Card>

        <Card title="Find a file">
          <FileSearch flavourId={flavour.id} number={revision.number} />
        </Card>

        <Card title="Packages">
          <RevisionPackageTable flavourId={flavour.id} number={revision.number} packages={packages} />
        </Card>

        <Card title="Size by package">
          <SizeChart flavourId={flavour.id} number={revision.number} packages={packages} />
        </Card>

        <Card title="Debian packages">
          <DebianPackageTable packages={debianPackages} />
        </Card>
      </div>
    </>
  );
}
