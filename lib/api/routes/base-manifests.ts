// Base manifests: the published versions flavours fork from (admins publish; everyone reads).
import { z } from "zod";
import { idParams, route, timestamp } from "../spec";
import { PublishBaseManifestInput } from "../../base-manifests/base-manifests";
import { ManifestHeader, PackageDefinition } from "./flavours";

const tags = ["base-manifests"];

const BaseManifestSummary = z.object({
  id: z.uuid(),
  name: z.string(),
  version: z.string(),
  header: ManifestHeader,
  createdAt: timestamp,
});

export const listBaseManifests = route({
  method: "GET",
  path: "/api/v1/base-manifests",
  summary: "Every published base-manifest version, by name then newest first",
  tags,
  role: "customer",
  response: z.object({ baseManifests: z.array(BaseManifestSummary.extend({ packageCount: z.number().int() })) }),
});

export const getBaseManifest = route({
  method: "GET",
  path: "/api/v1/base-manifests/{id}",
  summary: "One base-manifest version: its packages and requires graph (or, with ?format=yaml, the YAML as published)",
  tags,
  role: "customer",
  params: idParams,
  notFound: "No such base manifest.",
  query: z.object({ format: z.enum(["json", "yaml"], { error: 'format must be "json" or "yaml"' }).default("json").describe('"json" (default) or "yaml": the YAML as published, as a download') }),
  response: BaseManifestSummary.extend({
    packages: z.array(PackageDefinition),
    source: z.string().describe("The YAML as published"),
    graph: z.object({
      nodes: z.array(z.object({ id: z.string(), category: z.string(), name: z.string(), version: z.string().optional(), index: z.number().int() })),
      edges: z.array(z.object({ from: z.string(), to: z.string() })).describe("`from` requires `to`"),
    }),
  }),
});

export const publishBaseManifest = route({
  method: "POST",
  path: "/api/v1/base-manifests",
  summary: "Publish a base-manifest version from YAML (versions are immutable)",
  tags,
  role: "admin",
  body: PublishBaseManifestInput,
  response: BaseManifestSummary.extend({ packages: z.array(PackageDefinition) }),
  status: 201,
  errors: { 409: "That name and version exist already" },
});
