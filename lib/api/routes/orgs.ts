// Organisations as their members (their own) and admins (all) see them.
import { z } from "zod";
import { idParams, route, timestamp } from "../spec";
import { ROLES } from "../../db/schema";

const tags = ["orgs"];

export const listOrgs = route({
  method: "GET",
  path: "/api/v1/orgs",
  summary: "Your organisation (admins: every organisation) with its member count",
  tags,
  role: "customer",
  response: z.object({ orgs: z.array(z.object({ id: z.uuid(), name: z.string(), slug: z.string(), createdAt: timestamp, members: z.number().int() })) }),
});

export const getOrg = route({
  method: "GET",
  path: "/api/v1/orgs/{id}",
  summary: "One organisation with its members",
  tags,
  role: "customer",
  params: idParams,
  notFound: "No such organisation.",
  response: z.object({
    id: z.uuid(),
    name: z.string(),
    slug: z.string(),
    createdAt: timestamp,
    members: z.array(z.object({ id: z.uuid(), email: z.string(), name: z.string(), role: z.enum(ROLES), createdAt: timestamp })),
  }),
});
