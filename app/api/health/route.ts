import { getDb } from "@/lib/db";
import { checkHealth } from "@/lib/health";

export const dynamic = "force-dynamic";

export async function GET() {
  const health = await checkHealth(getDb());
  return Response.json(health, { status: health.status === "down" ? 503 : 200, headers: { "cache-control": "no-store" } });
}
