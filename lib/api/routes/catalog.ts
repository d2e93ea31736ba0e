// The catalog of ready-made layers: a form's input becomes a package definition, without writing shell.
import { z } from "zod";
import { route } from "../spec";
import { CATALOG } from "../../manifest/catalog";
import { PackageDefinition } from "./flavours";

const tags = ["catalog"];
const entryIds = CATALOG.map((e) => e.id) as [string, ...string[]];

export const listCatalog = route({
  method: "GET",
  path: "/api/v1/catalog",
  summary: "The ready-made layers, each with the JSON Schema of its form input",
  tags,
  role: "customer",
  response: z.object({
    entries: z.array(z.object({ id: z.enum(entryIds), title: z.string(), description: z.string(), input: z.record(z.string(), z.unknown()).describe("JSON Schema of the entry's input") })),
  }),
});

export const buildLayer = route({
  method: "POST",
  path: "/api/v1/catalog/{entry}",
  summary: "Turn a catalog form's input into the package definition of a layer (not saved: add it to a revision's layers)",
  tags,
  role: "customer",
  params: z.object({ entry: z.enum(entryIds) }),
  notFound: `No such catalog entry; known: ${entryIds.join(", ")}.`,
  body: z.record(z.string(), z.unknown()).describe("The entry's input, as its JSON Schema in GET /api/v1/catalog describes it"),
  response: z.object({ layer: PackageDefinition }),
});
