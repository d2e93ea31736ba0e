// The build page's disk images (server side): the build's images so far and the sizes the form offers, for the panel.
import type { Actor } from "@/lib/auth/actor";
import type { BuildStatus } from "@/lib/db/schema";
import { getDb } from "@/lib/db";
import { downloadName, listDiskImages, maxDiskBytes, rootfsSizeOfBuild } from "@/lib/disk-images/disk-images";
import { defaultDiskBytes, minimumDiskBytes } from "@/lib/disk-images/layout";
import { shownDiskImages } from "@/lib/disk-images/view";
import { DiskImagesPanel } from "./disk-images-panel";
import type { DiskImageView, DiskSizes } from "./types";

export async function BuildDiskImages({ actor, build, flavourName }: { actor: Actor; build: { id: string; status: BuildStatus; version: string }; flavourName: string }) {
  const fileNames = { raw: downloadName(flavourName, build.version, "raw"), qcow2: downloadName(flavourName, build.version, "qcow2") };
  if (build.status !== "succeeded") {
    // The panel waits for the build to succeed, then refreshes the page to get here with its sizes.
    return <DiskImagesPanel buildId={build.id} buildStatus={build.status} initial={[]} sizes={null} fileNames={fileNames} />;
  }
  const db = getDb();
  const [rows, rootfs] = await Promise.all([listDiskImages(db, actor, build.id), rootfsSizeOfBuild(db, build.id)]);
  const sizes: DiskSizes = { default: defaultDiskBytes(rootfs), minimum: minimumDiskBytes(rootfs), maximum: maxDiskBytes() };
  // Shaped as the API sends them to the panel's polls: dates as ISO strings, no job or worker fields.
  const initial: DiskImageView[] = shownDiskImages(rows);
  return <DiskImagesPanel buildId={build.id} buildStatus={build.status} initial={initial} sizes={sizes} fileNames={fileNames} />;
}
