import { withApi } from "@/lib/api/with-api";
import { getFlavour, updateFlavour } from "@/lib/flavours/flavours";

export const GET = withApi({ role: "customer" }, async ({ db, actor, params }) => getFlavour(db, actor, params.id));

/** Rename, describe, archive ({ archived: true }) or restore ({ archived: false }). */
export const PATCH = withApi({ role: "customer" }, async ({ db, actor, params, body }) => updateFlavour(db, actor, params.id, body));
