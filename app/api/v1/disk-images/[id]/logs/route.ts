import { withApi } from "@/lib/api/with-api";
import { BadRequestError } from "@/lib/errors";
import { getDiskImageLogs } from "@/lib/disk-images/disk-images";

/** ?after=<line id>&limit=<n>: the job's log lines in order, and the disk image's state, for the page's poll. */
export const GET = withApi({ role: "customer" }, async ({ db, actor, params, req }) => {
  const url = new URL(req.url);
  const after = Number(url.searchParams.get("after") ?? 0);
  const limit = Number(url.searchParams.get("limit") ?? 1000);
  if (!Number.isInteger(after) || after < 0) throw new BadRequestError("after must be a log line id (a whole number).");
  if (!Number.isInteger(limit) || limit < 1) throw new BadRequestError("limit must be a positive whole number.");
  const { diskImage, lines } = await getDiskImageLogs(db, actor, params.id, { after, limit });
  return { status: diskImage.status, lines };
});
