import { withApi } from "@/lib/api/with-api";
import { importFlavour } from "@/lib/flavours/transfer";

export const POST = withApi({ role: "customer" }, async ({ db, actor, body }) => Response.json(await importFlavour(db, actor, body), { status: 201 }));
