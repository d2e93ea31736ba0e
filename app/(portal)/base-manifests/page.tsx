import Link from "next/link";
import { getDb } from "@/lib/db";
import { requirePageActor } from "@/lib/auth/current";
import { isAdmin } from "@/lib/auth/roles";
import { getBaseManifest, listBaseManifests } from "@/lib/base-manifests/base-manifests";
import { Card, PageHeader } from "@/components/ui/card";
import { PublishBaseManifestForm } from "@/components/base-manifests/publish-form";

export const metadata = { title: "Base manifest" };

export default async function BaseManifestsPage() {
  const actor = await requirePageActor();
  const db = getDb();
  const versions = await listBaseManifests(db);
  // Newest first, whatever the manifest name: the version people want to fork is on top.
  const newest = [...versions].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  const admin = isAdmin(actor);
  const template = admin && newest[0] ? (await getBaseManifest(db, newest[0].id)).source : "";
  return (
    <>
      <PageHeader
        title="Base manifest"
        description="The foundation every flavour builds on: Debian with systemd, dracut, grub and the kernel. Each version is immutable."
        actions={
          <Link href="/flavours" className="text-sm font-medium text-brand-600 hover:underline">
            Fork it into a flavour →
          </Link>
        }
      />
      <div className="space-y-6">
        <Card title="Versions">
          {versions.length === 0 ? (
            <p className="text-sm text-slate-600">No base manifest is published yet. {admin ? "Publish the first version below." : "Ask a platform administrator to publish one."}</p>
          ) : (
            <table className="w-full text-left text-sm">
              <thead className="text-xs uppercase text-slate-500">
                <tr>
                  <th className="py-2">Name</th>
                  <th>Version</th>
                  <th>Base image</th>
                  <th className="text-right">Packages</th>
                  <th className="pl-6">Published</th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100">
                {newest.map((v) => (
                  <tr key={v.id}>
                    <td className="py-2">
                      <Link href={`/base-manifests/${v.id}`} className="font-medium text-brand-600 hover:underline">
                        {v.name} {v.version}
                      </Link>
                      {newest.find((n) => n.name === v.name) === v && <span className="ml-2 rounded bg-emerald-100 px-1.5 py-0.5 text-xs font-medium text-emerald-800">latest</span>}
                      {v.header.description && <p className="mt-0.5 max-w-xl truncate text-xs text-slate-500">{v.header.description}</p>}
                    </td>
                    <td className="font-mono text-xs">{v.version}</td>
                    <td className="font-mono text-xs">{v.header.base_image}</td>
                    <td className="text-right tabular-nums">{v.packageCount}</td>
                    <td className="pl-6 text-slate-600">{v.createdAt.toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" })}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Card>
        {admin && (
          <Card title="Publish version">
            <PublishBaseManifestForm template={template} />
          </Card>
        )}
      </div>
    </>
  );
}
