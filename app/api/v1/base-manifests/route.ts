import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/base-manifests";
import { listBaseManifests, publishBaseManifest } from "@/lib/base-manifests/base-manifests";

export const GET = withApi(routes.listBaseManifests, async ({ db }) => ({ baseManifests: await listBaseManifests(db) }));

export const POST = withApi(routes.publishBaseManifest, async ({ db, actor, body }) => publishBaseManifest(db, actor, body));
