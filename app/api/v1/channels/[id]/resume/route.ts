import { withApi } from "@/lib/api/with-api";
import { resumeChannel } from "@/lib/channels/channels";

/** Admins: resume a paused channel or a rollout that halted by itself. */
export const POST = withApi({ role: "admin" }, async ({ db, actor, params }) => resumeChannel(db, actor, params.id));
