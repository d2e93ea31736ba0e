import { withApi } from "@/lib/api/with-api";
import { createFlavour, listFlavours } from "@/lib/flavours/flavours";

export const GET = withApi({ role: "customer" }, async ({ db, actor, req }) => ({
  flavours: await listFlavours(db, actor, { archived: new URL(req.url).searchParams.get("archived") === "true" }),
}));

export const POST = withApi({ role: "customer" }, async ({ db, actor, body }) => Response.json(await createFlavour(db, actor, body), { status: 201 }));
