import { withApi } from "@/lib/api/with-api";
import { getArtefactFiles } from "@/lib/builds/builds";

/** An artefact's metadata and file list (path, type, size, mode). */
export const GET = withApi({ role: "customer" }, async ({ db, actor, params }) => getArtefactFiles(db, actor, params.id, decodeURIComponent(params.digest)));
