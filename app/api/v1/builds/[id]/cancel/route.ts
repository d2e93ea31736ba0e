import { withApi } from "@/lib/api/with-api";
import { cancelBuild } from "@/lib/builds/builds";

export const POST = withApi({ role: "customer" }, async ({ db, actor, params }) => cancelBuild(db, actor, params.id));
