import { withApi } from "@/lib/api/with-api";
import { revisionNumber } from "@/lib/api/params";
import { getRepositoryPackage } from "@/lib/repository/queries";

/** One package of a revision: its metadata, definition, artefact and requires graph. */
export const GET = withApi({ role: "customer" }, async ({ db, actor, params }) =>
  getRepositoryPackage(db, actor, params.id, revisionNumber(params.number, "repository revision"), params.category, params.name),
);
