import { z } from "zod";
import { withApi } from "@/lib/api/with-api";
import * as routes from "@/lib/api/routes/catalog";
import { CATALOG } from "@/lib/manifest/catalog";

export const GET = withApi(routes.listCatalog, async () => ({
  entries: CATALOG.map((e) => ({ id: e.id, title: e.title, description: e.description, input: z.toJSONSchema(e.input, { io: "input", unrepresentable: "any" }) })),
}));
