import { Breadcrumb } from "@/components/ui/breadcrumb";
import Link from "next/link";
import { getDb } from "@/lib/db";
import { requirePageActor } from "@/lib/auth/current";
import { requiresGraph } from "@/lib/manifest/order";
import { listPackageFiles } from "@/lib/repository/queries";
import { luetArtefactFileName } from "@/lib/repository/luet";
import { Card, PageHeader } from "@/components/ui/card";
import { Badge } from "@/components/ui/controls";
import { formatBytes, formatDuration } from "@/components/builds/format";
import { RequiresGraphSvg } from "@/components/base-manifests/requires-graph";
import { packageAnchor } from "@/components/base-manifests/package-details";
import { Copyable } from "@/components/ui/copyable";
import { FileList } from "@/components/repository/file-list";
import { PackageDefinitionView } from "@/components/repository/package-definition";
import { FILES_PER_PAGE, artefactUrl, digestHex, packagePath, repositoryPath } from "@/components/repository/format";
import { loadPackage } from "../../../../load";
import { Stat } from "@/components/ui/stat";

type Params = { id: string; number: string; category: string; name: string };

export async function generateMetadata({ params }: { params: Promise<Params> }) {
  const actor = await requirePageActor();
  const { id, number, category, name } = await params;
  const { flavour, revision } = await loadPackage(actor, id, number, category, name);
  return { title: `${category}/${name} in repository revision ${revision.number} of ${flavour.name}` };
}

/** The package, what it needs (directly or through others) and what needs it directly: the part of the graph that matters here. */
function neighbourhood(graph: Array<{ id: string; requires: string[] }>, self: string) {
  const requires = new Map(graph.map((n) => [n.id, n.requires]));
  const needed = new Set<string>();
  const todo = [...(requires.get(self) ?? [])];
  while (todo.length) {
    const id = todo.pop()!;
    if (needed.has(id) || id === self) continue;
    needed.add(id);
    todo.push(...(requires.get(id) ?? []));
  }
  const requiredBy = graph.filter((n) => n.requires.includes(self)).map((n) => n.id);
  const keep = new Set([...needed, self, ...requiredBy]);
  const nodes = graph
    .filter((n) => keep.has(n.id))
    .map((n) => {
      const [category, name] = n.id.split("/");
      return { category, name, requires: n.requires };
    });
  return { graph: requiresGraph(nodes), needed: [...needed] };
}

export default async function RepositoryPackagePage({ params }: { params: Promise<Params> }) {
  const actor = await requirePageActor();
  const { id, number, category, name } = await params;
  const { flavour, revision, package: pkg, requiredBy, graph } = await loadPackage(actor, id, number, category, name);
  const files = await listPackageFiles(getDb(), actor, flavour.id, revision.number, pkg.category, pkg.name, { limit: FILES_PER_PAGE });
  const self = `${pkg.category}/${pkg.name}`;
  const { definition, artefact } = pkg;
  const fileName = luetArtefactFileName({ ...pkg, artefact: { compression: artefact.compression === "gzip" ? "gzip" : "zstd" } });
  const around = neighbourhood(graph, self);
  const indirect = around.needed.filter((n) => !pkg.requires.includes(n));
  const packageLink = (target: string) => {
    const [c, n] = target.split("/");
    return packagePath(flavour.id, revision.number, { category: c, name: n });
  };
  const idList = (ids: string[], empty: string) =>
    ids.length === 0 ? (
      <span className="text-slate-500">{empty}</span>
    ) : (
      <ul className="flex flex-wrap gap-1">
        {ids.map((target) => (
          <li key={target} id={packageAnchor(target)} className="scroll-mt-6">
            <Link href={packageLink(target)} className="rounded bg-brand-50 px-1.5 py-0.5 font-mono text-xs text-brand-700 hover:underline">
              {target}
            </Link>
          </li>
        ))}
      </ul>
    );
  return (
    <>
      <Breadcrumb
        items={[
          { label: "Flavours", href: "/flavours" },
          { label: flavour.name, href: `/flavours/${flavour.id}` },
          { label: "Repository", href: `/flavours/${flavour.id}/repository` },
          { label: `Revision ${revision.number}`, href: repositoryPath(flavour.id, revision.number) },
          { label: self },
        ]}
      />
      <PageHeader title={self} description={definition.description || undefined} />
      <dl id={packageAnchor(self)} className="mb-6 grid scroll-mt-6 grid-cols-2 gap-4 rounded-lg border border-slate-200 bg-white px-5 py-3 text-sm shadow-sm sm:grid-cols-5">
        <Stat label="Version" className="font-mono">{pkg.version}</Stat>
        <Stat label="From">{pkg.fromBase ? "the base manifest" : <Badge tone="brand">your layer</Badge>}</Stat>
        <Stat label="In this build">{pkg.cached ? <Badge tone="emerald">cache hit</Badge> : "built"}</Stat>
        <div>
          <dt className="text-xs text-slate-500">Build time</dt>
          <dd className="tabular-nums" title={pkg.cached ? "A cache hit: the lookup and extraction only" : undefined}>
            {formatDuration(pkg.buildMs)}
          </dd>
        </div>
        <div>
          <dt className="text-xs text-slate-500">Position</dt>
          <dd className="tabular-nums">
            {pkg.position + 1} of {graph.length}
          </dd>
        </div>
      </dl>
      <div className="space-y-6">
        <Card title="Artefact">
          <dl className="space-y-3">
            <Copyable label="Artefact digest" value={artefact.digest} testId="artefact-digest" />
            <div>
              <dt className="text-xs font-medium text-slate-500">SHA-256, to check a download</dt>
              <dd className="mt-1 text-sm text-slate-600">
                <code className="font-mono text-xs">sha256sum</code> on the downloaded file prints this before the file&apos;s name:
                <pre className="mt-1 overflow-x-auto rounded-md bg-slate-900 px-2.5 py-1.5 font-mono text-xs text-slate-100" data-testid="artefact-sha256">
                  {digestHex(artefact.digest)}
                </pre>
              </dd>
            </div>
          </dl>
          <dl className="mt-4 grid grid-cols-2 gap-4 border-t border-slate-100 pt-3 text-sm sm:grid-cols-4">
            <Stat label="Compressed" className="tabular-nums">{formatBytes(artefact.size)}</Stat>
            <Stat label="Unpacked" className="tabular-nums">{formatBytes(artefact.uncompressedSize)}</Stat>
            <Stat label="Compression">{artefact.compression === "zstd" ? "zstd (tar.zst)" : artefact.compression === "gzip" ? "gzip (tar.gz)" : artefact.compression}</Stat>
            <Stat label="Files" className="tabular-nums">{artefact.fileCount}</Stat>
          </dl>
          <div className="mt-4 flex flex-wrap items-center gap-3">
            <a href={artefactUrl(artefact.digest)} download={fileName} className="rounded-md bg-brand-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-brand-700">
              Download artefact
            </a>
            <span className="text-xs text-slate-500">
              The files this package&apos;s layer added, as a {artefact.compression}-compressed tar (<span className="font-mono">{fileName}</span> in a luet repository); unpack it with{" "}
              <code className="font-mono">tar -xf</code>.
            </span>
          </div>
        </Card>

        <Card title="Cache key">
          <dl>
            <Copyable label="Cache key" value={pkg.cacheKey} testId="cache-key" />
          </dl>
          <p className="mt-2 text-xs text-slate-500">
            sha256 of the parent&apos;s key and this definition: every flavour with the same packages up to here reuses the same layer instead of building it again.
          </p>
        </Card>

        <Card title="Requires">
          <div className="space-y-4">
            {around.graph.edges.length > 0 && <RequiresGraphSvg graph={around.graph} highlight={[self]} />}
            <dl className="grid grid-cols-[9rem_1fr] gap-x-3 gap-y-2 text-sm">
              <dt className="text-slate-500">Requires</dt>
              <dd>{idList(pkg.requires, "nothing (builds on the base image)")}</dd>
              {indirect.length > 0 && (
                <>
                  <dt className="text-slate-500">Through those</dt>
                  <dd>{idList(indirect, "")}</dd>
                </>
              )}
              <dt className="text-slate-500">Required by</dt>
              <dd>{idList(requiredBy, "no package of this revision")}</dd>
            </dl>
          </div>
        </Card>

        <Card title="Definition">
          <PackageDefinitionView definition={definition} />
        </Card>

        {pkg.deleted.length > 0 && (
          <Card title={`Deleted paths (${pkg.deleted.length})`}>
            <p className="mb-2 text-sm text-slate-600">Paths this package removes from the packages below it (a path ending in / stands for the directory&apos;s earlier content).</p>
            <ul className="max-h-64 overflow-auto rounded-md border border-slate-200 bg-slate-50 px-3 py-1.5 font-mono text-xs">
              {pkg.deleted.map((path) => (
                <li key={path} className="break-all text-red-800">
                  {path}
                </li>
              ))}
            </ul>
          </Card>
        )}

        <Card title="Files">
          <FileList flavourId={flavour.id} number={revision.number} category={pkg.category} name={pkg.name} initial={files} />
        </Card>
      </div>
    </>
  );
}
