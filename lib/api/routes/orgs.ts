// Organisations as their members (their own) and admins (all) see them.
import { z } from "zod";
import { idParams, page, pageQuery, route, timestamp } from "../spec";
import { ROLES } from "../../db/schema";

const tags = ["orgs"];

export const listOrgs = route({
  method: "GET",
  path: "/api/v1/orgs",
  summary: "Your organisation (admins: every organisation) with its member count, in slug order, a page at a time",
  tags,
  role: "customer",
  query: pageQuery.extend({ q: z.string().trim().max(100, "q is at most 100 characters").optional().describe("Part of the name or slug, any case") }),
  response: page("orgs", z.object({ id: z.uuid(), name: z.string(), slug: z.string(), createdAt: timestamp, members: z.number().int() })),
  paginated: true,
  errors: { 400: "A bad cursor, limit or q" },
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
