import { withApi } from "@/lib/api/with-api";
import { BadRequestError } from "@/lib/errors";
import { previewRebase, rebaseFlavour } from "@/lib/flavours/flavours";

/** ?baseManifestId=…: what the rebase would change, and whether the layers still fit. */
export const GET = withApi({ role: "customer" }, async ({ db, actor, params, req }) => {
  const target = new URL(req.url).searchParams.get("baseManifestId");
  if (!target) throw new BadRequestError("baseManifestId is required.");
  return previewRebase(db, actor, params.id, target);
});

export const POST = withApi({ role: "customer" }, async ({ db, actor, params, body }) => Response.json(await rebaseFlavour(db, actor, params.id, body), { status: 201 }));
