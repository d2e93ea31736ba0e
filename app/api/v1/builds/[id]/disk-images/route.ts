import { withApi } from "@/lib/api/with-api";
import { Reply } from "@/lib/api/spec";
import * as routes from "@/lib/api/routes/builds";
import { listDiskImages, requestDiskImage } from "@/lib/disk-images/disk-images";

export const GET = withApi(routes.listBuildDiskImages, async ({ db, actor, params }) => ({ diskImages: await listDiskImages(db, actor, params.id) }));

/** 201 with a new disk image (row and job together), 200 with the one already asked for with the same size and formats. */
export const POST = withApi(routes.requestBuildDiskImage, async ({ db, actor, params, body }) => {
  const { diskImage, created } = await requestDiskImage(db, actor, params.id, body);
  return new Reply(diskImage, { status: created ? 201 : 200 });
});
