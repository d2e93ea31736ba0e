import { withApi } from "@/lib/api/with-api";
import { getRelease } from "@/lib/releases/releases";

/** The release with its diff against the channel's current release. */
export const GET = withApi({ role: "customer" }, async ({ db, actor, params }) => getRelease(db, actor, params.id));
