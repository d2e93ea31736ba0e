import { withApi } from "@/lib/api/with-api";
import { listAudit } from "@/lib/audit/audit";
import { getChannelRow } from "@/lib/channels/channels";

export const GET = withApi({ role: "customer" }, async ({ req, db, actor, params }) => {
  await getChannelRow(db, actor, params.id);
  const q = new URL(req.url).searchParams;
  return listAudit(db, actor, { channelId: params.id, before: q.get("before") ?? undefined, limit: q.get("limit") ?? undefined });
});
