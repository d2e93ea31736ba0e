// Health: a one-word status for anyone (load balancers, the start-up scripts), the details for admins.
import { z } from "zod";
import { route } from "../spec";

const Status = z.enum(["ok", "degraded", "down"]).describe("ok; degraded when Docker or the registry does not answer; down without the database");

export const health = route({
  method: "GET",
  path: "/api/health",
  summary: "Whether the portal works: ok, degraded or down (checked at most every 5 seconds)",
  tags: ["meta"],
  role: "public",
  response: z.object({ status: Status }),
  errors: { 503: "The database does not answer (`status: down`)" },
});

const Part = z.object({
  ok: z.boolean(),
  detail: z.string().describe("The version that answered, or why it did not"),
  latencyMs: z.number().int(),
});

export const adminHealth = route({
  method: "GET",
  path: "/api/v1/admin/health",
  summary: "The state of PostgreSQL, the Docker engine and the registry, with versions and errors (checked now)",
  tags: ["admin"],
  role: "admin",
  response: z.object({ status: Status, database: Part, docker: Part, registry: Part }),
});
