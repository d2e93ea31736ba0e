import { withApi } from "@/lib/api/with-api";
import { approveRelease } from "@/lib/releases/releases";

/** Admins: `{ rolloutPercent? }` (100 when left out); the release becomes the channel's release. */
export const POST = withApi({ role: "admin" }, async ({ db, actor, params, body }) => approveRelease(db, actor, params.id, body));
