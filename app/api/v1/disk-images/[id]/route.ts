import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/disk-images";
import { getDiskImage } from "@/lib/disk-images/disk-images";

export const GET = withApi(routes.getDiskImage, async ({ db, actor, params }) => getDiskImage(db, actor, params.id));
