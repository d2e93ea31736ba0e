import { withApi } from "@/lib/api/with-api";
import { listRevisions, saveRevision } from "@/lib/flavours/flavours";

export const GET = withApi({ role: "customer" }, async ({ db, actor, params }) => ({ revisions: await listRevisions(db, actor, params.id) }));

export const POST = withApi({ role: "customer" }, async ({ db, actor, params, body }) => Response.json(await saveRevision(db, actor, params.id, body), { status: 201 }));
