import { withApi } from "@/lib/api/with-api";
import { revisionNumber } from "@/lib/api/params";
import { getRepositoryRevision } from "@/lib/repository/queries";

/** One revision: summary, packages in build order, Debian packages. */
export const GET = withApi({ role: "customer" }, async ({ db, actor, params }) =>
  getRepositoryRevision(db, actor, params.id, revisionNumber(params.number, "repository revision")),
);
