import { withApi } from "@/lib/api/with-api";
import { revisionNumber } from "@/lib/api/params";
import { getRevision } from "@/lib/flavours/flavours";

export const GET = withApi({ role: "customer" }, async ({ db, actor, params }) => getRevision(db, actor, params.id, revisionNumber(params.number)));
