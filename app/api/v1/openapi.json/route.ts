import { openApiDocument } from "@/lib/openapi";
import { config } from "@/lib/config";

export const dynamic = "force-dynamic";

export function GET() {
  return Response.json(openApiDocument(config.publicUrl));
}
