import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/repository";
import { getRepositoryPackage } from "@/lib/repository/queries";

/** One package of a revision: its metadata, definition, artefact and requires graph. */
export const GET = withApi(routes.getPackage, async ({ db, actor, params }) =>
  getRepositoryPackage(db, actor, params.id, params.number, params.category, params.name),
);
