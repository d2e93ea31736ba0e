import { withApi } from "@/lib/api/with-api";
import { listAudit } from "@/lib/audit/audit";

/** The audit log, newest first (admins: every organisation); `?before=<id>` pages. */
export const GET = withApi({ role: "customer" }, async ({ req, db, actor }) => {
  const q = new URL(req.url).searchParams;
  return listAudit(db, actor, { channelId: q.get("channel") ?? undefined, before: q.get("before") ?? undefined, limit: q.get("limit") ?? undefined });
});
