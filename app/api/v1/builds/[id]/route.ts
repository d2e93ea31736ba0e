import { withApi } from "@/lib/api/with-api";
import { getBuild } from "@/lib/builds/builds";

export const GET = withApi({ role: "customer" }, async ({ db, actor, params }) => getBuild(db, actor, params.id));
