import { withApi } from "@/lib/api/with-api";
import { openApiDocument } from "@/lib/api/openapi";
import * as routes from "@/lib/api/routes/account";

export const dynamic = "force-dynamic";

export const GET = withApi(routes.openapi, async () => Response.json(openApiDocument()));
