import { Breadcrumb } from "@/components/ui/breadcrumb";
import Link from "next/link";
import { notFound } from "next/navigation";
import { getDb } from "@/lib/db";
import { requirePageActor } from "@/lib/auth/current";
import { getBaseManifest, listBaseManifests } from "@/lib/base-manifests/base-manifests";
import { NotFoundError } from "@/lib/errors";
import { requiredByMap, requiresGraph } from "@/lib/manifest/order";
import { Card, PageHeader } from "@/components/ui/card";
import { PackageDetails } from "@/components/base-manifests/package-details";
import { RequiresGraphSvg } from "@/components/base-manifests/requires-graph";

async function load(id: string) {
  try {
    return await getBaseManifest(getDb(), id);
  } catch (err) {
    if (err instanceof NotFoundError) notFound();
    throw err;
  }
}

export async function generateMetadata({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  try {
    const m = await getBaseManifest(getDb(), id);
    return { title: `${m.name} ${m.version}` };
  } catch {
    return { title: "Base manifest" };
  }
}

export default async function BaseManifestPage({ params }: { params: Promise<{ id: string }> }) {
  await requirePageActor();
  const { id } = await params;
  const manifest = await load(id);
  const versions = await listBaseManifests(getDb());
  const graph = requiresGraph(manifest.packages);
  const requiredBy = requiredByMap(manifest.packages);
  const action = "rounded-md px-3 py-1.5 text-sm font-medium ring-1 ring-slate-300 bg-white hover:bg-slate-50";
  return (
    <>
      <Breadcrumb items={[{ label: "Base manifest", href: "/base-manifests" }, { label: manifest.version }]} />
      <PageHeader
        title={`${manifest.name} ${manifest.version}`}
        description={manifest.header.description || undefined}
        actions={
          <div className="flex gap-2">
            <a href={`/api/v1/base-manifests/${manifest.id}?format=yaml`} download className={action}>
              Download YAML
            </a>
            <Link href={`/flavours?base=${manifest.id}#fork`} className="rounded-md bg-brand-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-brand-700">
              Fork this version
            </Link>
          </div>
        }
      />
      <dl className="mb-6 grid grid-cols-2 gap-4 rounded-lg border border-slate-200 bg-white px-5 py-3 text-sm shadow-sm sm:grid-cols-4">
        <div>
          <dt className="text-xs text-slate-500">Base image</dt>
          <dd className="font-mono text-xs">{manifest.header.base_image}</dd>
        </div>
        <div>
          <dt className="text-xs text-slate-500">Packages</dt>
          <dd>{manifest.packages.length}</dd>
        </div>
        <div>
          <dt className="text-xs text-slate-500">Published</dt>
          <dd>{manifest.createdAt.toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" })}</dd>
        </div>
        <div>
          <dt className="text-xs text-slate-500">Other versions</dt>
          <dd className="flex flex-wrap gap-1">
            {versions.filter((v) => v.id !== manifest.id).length === 0
              ? "none"
              : versions
                  .filter((v) => v.id !== manifest.id)
                  .map((v) => (
                    <Link key={v.id} href={`/base-manifests/${v.id}`} className="text-brand-600 hover:underline">
                      {v.name === manifest.name ? v.version : `${v.name} ${v.version}`}
                    </Link>
                  ))}
          </dd>
        </div>
      </dl>
      <div className="space-y-6">
        <Card title="Requires graph">
          <RequiresGraphSvg graph={graph} />
        </Card>
        <Card title="Packages">
          <p className="mb-2 text-sm text-slate-600">In build order: each package builds in a container started from the image of the one before it.</p>
          <ol className="divide-y divide-slate-100">
            {manifest.packages.map((pkg, i) => (
              <li key={`${pkg.category}/${pkg.name}`}>
                <PackageDetails pkg={pkg} position={i + 1} requiredBy={requiredBy.get(`${pkg.category}/${pkg.name}`) ?? []} />
              </li>
            ))}
          </ol>
        </Card>
      </div>
    </>
  );
}
