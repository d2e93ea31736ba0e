import { withApi } from "@/lib/api/with-api";
import { listReleases, requestRelease } from "@/lib/releases/releases";

export const GET = withApi({ role: "customer" }, async ({ db, actor, params }) => ({ releases: await listReleases(db, actor, { channelId: params.id }) }));

/** Ask to release a succeeded build: `{ buildId, version, notes? }`; it waits for an admin's approval. */
export const POST = withApi({ role: "customer" }, async ({ db, actor, params, body }) => Response.json(await requestRelease(db, actor, params.id, body), { status: 201 }));
