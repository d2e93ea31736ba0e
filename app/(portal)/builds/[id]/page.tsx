import { Breadcrumb } from "@/components/ui/breadcrumb";
import { notFound } from "next/navigation";
import type { Actor } from "@/lib/auth/actor";
import { requirePageActor } from "@/lib/auth/current";
import { getBuild } from "@/lib/builds/builds";
import { getDb } from "@/lib/db";
import { NotFoundError } from "@/lib/errors";
import { getFlavourRow } from "@/lib/flavours/flavours";
import { listChannels } from "@/lib/channels/channels";
import { BuildView } from "@/components/builds/build-view";
import { BuildReleasePanel } from "@/components/releases/build-release-panel";
import { BuildDiskImages } from "@/components/disk-images/build-disk-images";
import { shownBuild } from "@/lib/builds/view";

async function loadBuild(actor: Actor, id: string) {
  const db = getDb();
  try {
    const build = await getBuild(db, actor, id);
    const flavour = await getFlavourRow(db, actor, build.flavourId);
    return { build, flavour };
  } catch (err) {
    if (err instanceof NotFoundError) notFound();
    throw err;
  }
}

export async function generateMetadata({ params }: { params: Promise<{ id: string }> }) {
  const actor = await requirePageActor();
  const { id } = await params;
  const { build, flavour } = await loadBuild(actor, id);
  return { title: `Build ${build.version} of ${flavour.name}` };
}

export default async function BuildPage({ params }: { params: Promise<{ id: string }> }) {
  const actor = await requirePageActor();
  const { id } = await params;
  const { build, flavour } = await loadBuild(actor, id);
  // Shaped as the API and the event stream send it: dates as ISO strings, no worker or job fields.
  const initial = shownBuild(build);
  // Offered for a build that succeeded, or still may: the panel shows the release form once it has.
  const releasable = build.status === "succeeded" ? build.imageRef !== null && build.imageDigest !== null : build.status === "queued" || build.status === "running";
  const channels = releasable ? (await listChannels(getDb(), actor, flavour.id)).channels : [];
  return (
    <>
      <Breadcrumb items={[{ label: "Flavours", href: "/flavours" }, { label: flavour.name, href: `/flavours/${flavour.id}` }, { label: "Builds", href: `/flavours/${flavour.id}/builds` }, { label: build.version }]} />
      <BuildView key={build.id} initial={initial} flavourName={flavour.name} />
      {releasable && (
        <BuildReleasePanel
          buildId={build.id}
          status={build.status}
          flavour={{ id: flavour.id, name: flavour.name }}
          channels={channels.map((c) => ({ id: c.id, name: c.name, releaseVersion: c.releaseVersion }))}
        />
      )}
      {build.status !== "failed" && build.status !== "cancelled" && <BuildDiskImages actor={actor} build={build} flavourName={flavour.name} />}
    </>
  );
}
