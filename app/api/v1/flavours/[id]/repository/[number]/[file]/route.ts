import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/repository";
import { NotFoundError } from "@/lib/errors";
import { artefactResponse, defaultArtefactSources } from "@/lib/repository/download";
import { luetArtefactByFileName } from "@/lib/repository/luet";
import { findArtefactForDownload, getRepositoryIndex } from "@/lib/repository/queries";

/**
 * An artefact by its luet file name (`<name>-<category>-<version>.package.tar.zst`), streamed like /artefacts/{digest}.
 * It sits at the revision's root because luet fetches `<repository url>/<file name>`; the other names here (files,
 * index.json, packages, repository.yaml, …) are static segments, which Next matches before this one.
 */
const handler = withApi(routes.luetArtefact, async ({ req, db, actor, params }) => {
  const { index, revision } = await getRepositoryIndex(db, actor, params.id, params.number);
  const fileName = decodeFileName(params.file);
  const pkg = fileName === undefined ? undefined : luetArtefactByFileName(index, fileName);
  if (!pkg) {
    throw new NotFoundError(`No artefact ${JSON.stringify(fileName ?? params.file)} in repository revision ${revision.number}; luet's artefact names are <name>-<category>-<version>.package.tar.zst (or .gz), as listed in its repository.meta.yaml.tar.`);
  }
  return artefactResponse(req, await findArtefactForDownload(db, actor, pkg.artefact.digest), defaultArtefactSources(), { fileName });
});
export const GET = handler;
export const HEAD = handler;

/** A malformed escape ("%zz") is a name no artefact has, not a server error. */
function decodeFileName(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}
