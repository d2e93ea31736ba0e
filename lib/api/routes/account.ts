// Who you are, and the document itself.
import { z } from "zod";
import { route } from "../spec";
import { ROLES } from "../../db/schema";

export const me = route({
  method: "GET",
  path: "/api/v1/me",
  summary: "Who you are: user, organisation, how you authenticated",
  tags: ["account"],
  role: "customer",
  response: z.object({
    user: z.object({ id: z.uuid(), email: z.string(), name: z.string(), role: z.enum(ROLES) }),
    org: z.object({ id: z.uuid(), name: z.string(), slug: z.string() }),
    via: z.enum(["session", "token"]),
  }),
});

export const openapi = route({
  method: "GET",
  path: "/api/v1/openapi.json",
  summary: "This API's OpenAPI 3.1 document, generated from the route declarations",
  tags: ["meta"],
  role: "public",
  response: { contentType: "application/json", description: "The OpenAPI document" },
});
