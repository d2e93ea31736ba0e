import { withApi } from "@/lib/api/with-api";
import { retryBuild } from "@/lib/builds/builds";

export const POST = withApi({ role: "customer" }, async ({ db, actor, params }) => Response.json(await retryBuild(db, actor, params.id), { status: 201 }));
