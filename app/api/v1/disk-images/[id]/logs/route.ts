import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/disk-images";
import { getDiskImageLogs } from "@/lib/disk-images/disk-images";

/** The job's log lines after `after`, and the disk image's state, for the page's poll. */
export const GET = withApi(routes.diskImageLogs, async ({ db, actor, params, query }) => {
  const { diskImage, lines } = await getDiskImageLogs(db, actor, params.id, query);
  return { status: diskImage.status, lines };
});
