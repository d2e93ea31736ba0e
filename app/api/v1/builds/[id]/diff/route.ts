import { withApi } from "@/lib/api/with-api";
import { getImportDiff } from "@/lib/builds/import-diff";

/** An imported build against its parent build: source, extra layers and the files they add, change and remove. */
export const GET = withApi({ role: "customer" }, async ({ db, actor, params }) => getImportDiff(db, actor, params.id));
