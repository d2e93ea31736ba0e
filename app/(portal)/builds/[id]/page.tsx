import { Breadcrumb } from "@/components/ui/breadcrumb";
import { notFound } from "next/navigation";
import type { Actor } from "@/lib/auth/actor";
import { requirePageActor } from "@/lib/auth/current";
import { getBuild } from "@/lib/builds/builds";
import { getDb } from "@/lib/db";
import { NotFoundError } from "@/lib/errors";
import { getFlavourRow } from "@/lib/flavours/flavours";
import { BuildView } from "@/components/builds/build-view";
import type { BuildView as BuildJson } from "@/components/builds/format";

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
  // Dates become ISO strings, exactly as the event stream sends them.
  const initial = JSON.parse(JSON.stringify(build)) as BuildJson;
  return (
    <>
      <Breadcrumb items={[{ label: "Flavours", href: "/flavours" }, { label: flavour.name, href: `/flavours/${flavour.id}` }, { label: "Builds", href: `/flavours/${flavour.id}/builds` }, { label: build.version }]} />
      <BuildView key={build.id} initial={initial} flavourName={flavour.name} />
    </>
  );
}
