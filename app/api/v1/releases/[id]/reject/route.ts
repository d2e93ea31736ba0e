import { withApi } from "@/lib/api/with-api";
import { rejectRelease } from "@/lib/releases/releases";

/** Admins: `{ reason }`. */
export const POST = withApi({ role: "admin" }, async ({ db, actor, params, body }) => rejectRelease(db, actor, params.id, body));
