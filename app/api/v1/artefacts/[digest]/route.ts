import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/artefacts";
import { BadRequestError } from "@/lib/errors";
import { artefactResponse, defaultArtefactSources } from "@/lib/repository/download";
import { findArtefactForDownload } from "@/lib/repository/queries";

/** An artefact's bytes, streamed, with ETag (its digest), Range (206/416) and immutable caching. */
const handler = withApi(routes.artefact, async ({ req, db, actor, params }) => artefactResponse(req, await findArtefactForDownload(db, actor, decodeDigest(params.digest)), defaultArtefactSources()));
export const GET = handler;
export const HEAD = handler;

/** The digest as the URL carries it (its ":" may be escaped); a malformed escape is a bad digest, not a server error. */
function decodeDigest(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new BadRequestError('An artefact digest is "sha256:" followed by 64 lowercase hex digits.');
  }
}
