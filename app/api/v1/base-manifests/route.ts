import { withApi } from "@/lib/api/with-api";
import { listBaseManifests, publishBaseManifest } from "@/lib/base-manifests/base-manifests";

export const GET = withApi({ role: "customer" }, async ({ db }) => ({ baseManifests: await listBaseManifests(db) }));

export const POST = withApi({ role: "admin" }, async ({ db, actor, body }) => Response.json(await publishBaseManifest(db, actor, body), { status: 201 }));
