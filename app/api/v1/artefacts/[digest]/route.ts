import { withApi } from "@/lib/api/with-api";
import { artefactResponse, defaultArtefactSources } from "@/lib/repository/download";
import { findArtefactForDownload } from "@/lib/repository/queries";

/** An artefact's bytes, streamed, with ETag (its digest), Range (206/416) and immutable caching. */
const handler = withApi({ role: "customer" }, async ({ req, db, actor, params }) =>
  artefactResponse(req, await findArtefactForDownload(db, actor, decodeURIComponent(params.digest)), defaultArtefactSources()),
);
export const GET = handler;
export const HEAD = handler;
