import { withApi } from "@/lib/api/with-api";
import { listDiskImages, requestDiskImage } from "@/lib/disk-images/disk-images";

/** The build's disk images, newest first. */
export const GET = withApi({ role: "customer" }, async ({ db, actor, params }) => ({ diskImages: await listDiskImages(db, actor, params.id) }));

/** `{ size?, formats? }`: 201 with a new disk image (row and job together), 200 with the one already asked for with the same size and formats. */
export const POST = withApi({ role: "customer" }, async ({ db, actor, params, body }) => {
  const { diskImage, created } = await requestDiskImage(db, actor, params.id, body);
  return Response.json(diskImage, { status: created ? 201 : 200 });
});
