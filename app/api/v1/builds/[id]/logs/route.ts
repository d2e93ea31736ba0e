import { withApi } from "@/lib/api/with-api";
import { BadRequestError } from "@/lib/errors";
import { getBuildLogs } from "@/lib/builds/builds";

/** ?after=<line id>&limit=<n>: log lines in order, for clients that poll instead of streaming. */
export const GET = withApi({ role: "customer" }, async ({ db, actor, params, req }) => {
  const url = new URL(req.url);
  const after = Number(url.searchParams.get("after") ?? 0);
  const limit = Number(url.searchParams.get("limit") ?? 1000);
  if (!Number.isInteger(after) || after < 0) throw new BadRequestError("after must be a log line id (a whole number).");
  if (!Number.isInteger(limit) || limit < 1) throw new BadRequestError("limit must be a positive whole number.");
  const { lines } = await getBuildLogs(db, actor, params.id, { after, limit });
  return { lines };
});
