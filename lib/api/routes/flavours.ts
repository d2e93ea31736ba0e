// Flavours and their revisions: read, change, diff, rebase, export and import; the flavour's channels and image imports.
import { z } from "zod";
import { idParams, positiveInt, route, timestamp, uuid } from "../spec";
import { RebaseInput, UpdateFlavourInput } from "../../flavours/flavours";
import { ImportFlavourInput } from "../../flavours/transfer";
import { CheckImportInput, ImportInput } from "../../builds/import";
import { CreateChannelInput } from "../../channels/channels";
import { BUILD_KINDS, BUILD_STATUSES } from "../../db/schema";

// Shapes other modules reuse (package definitions, flavours, revisions, manifest diffs).

/** A package definition as stored (every field filled in; a definition saved before a field existed gets its default). */
export const PackageDefinition = z.object({
  category: z.string(),
  name: z.string(),
  version: z.string(),
  description: z.string().default(""),
  requires: z.array(z.string()).default([]).describe('"category/name" of packages earlier in the list'),
  steps: z.array(z.string()).default([]),
  files: z.array(z.object({ path: z.string(), mode: z.string(), content: z.string() })).default([]),
  includes: z.array(z.string()).default([]),
  excludes: z.array(z.string()).default([]),
});

export const BaseRef = z.object({ id: z.uuid(), name: z.string(), version: z.string() });

export const ManifestHeader = z.object({ name: z.string(), version: z.string(), base_image: z.string(), description: z.string().default("") });

export const Flavour = z.object({
  id: z.uuid(),
  name: z.string(),
  description: z.string(),
  orgId: z.uuid(),
  createdAt: timestamp,
  updatedAt: timestamp,
  archivedAt: timestamp.nullable(),
  imageRepository: z.string().describe("Where the flavour's OS images are pushed (<org>/<name it was made with>); a rename does not move it"),
  scratchRebuildDays: z.number().int().nullable().describe("Rebuild the latest revision from scratch every this many days; null when off"),
  nextScratchRebuildAt: timestamp.nullable(),
});

export const Revision = z.object({
  id: z.uuid(),
  number: z.number().int(),
  message: z.string(),
  createdAt: timestamp,
  createdBy: z.uuid().nullable(),
  base: BaseRef.extend({ header: ManifestHeader }),
  layers: z.array(PackageDefinition),
  excludedPackages: z.array(z.string()).describe('Base packages ("category/name") this revision leaves out, in base order'),
  packages: z.array(PackageDefinition).describe("The kept base packages then the layers: what a build installs, in order"),
});

export const FlavourWithLatest = Flavour.extend({ latest: Revision });

/** What changed between two package lists, with a line diff of each changed package's YAML. */
export const PackagesDiff = z.object({
  added: z.array(PackageDefinition),
  removed: z.array(PackageDefinition),
  changed: z.array(
    z.object({
      id: z.string(),
      before: PackageDefinition,
      after: PackageDefinition,
      lines: z.array(z.object({ kind: z.enum(["same", "add", "del"]), text: z.string() })),
    }),
  ),
  unchanged: z.array(z.string()),
  moved: z.array(z.string()),
});

const flavourParams = idParams;
const revisionParams = z.object({ id: uuid, number: positiveInt });
const NO_FLAVOUR = "No such flavour.";

/** `?to=`/`?from=` revision numbers: the message names the parameter and what it takes. */
const revisionQuery = (message: string) =>
  z.coerce.number({ error: message }).int({ error: message }).min(1, { error: message }).max(2_147_483_647, { error: message });

export const getFlavour = route({
  method: "GET",
  path: "/api/v1/flavours/{id}",
  summary: "A flavour with its latest revision",
  tags: ["flavours"],
  role: "customer",
  params: flavourParams,
  notFound: NO_FLAVOUR,
  response: FlavourWithLatest,
});

export const updateFlavour = route({
  method: "PATCH",
  path: "/api/v1/flavours/{id}",
  summary: "Rename, describe, archive ({ archived: true }) or restore a flavour, or set its from-scratch rebuild schedule",
  tags: ["flavours"],
  role: "customer",
  params: flavourParams,
  notFound: NO_FLAVOUR,
  body: UpdateFlavourInput,
  response: Flavour,
  errors: { 409: "The name is taken, or its registry repositories belong to another flavour" },
});

export const getRevision = route({
  method: "GET",
  path: "/api/v1/flavours/{id}/revisions/{number}",
  summary: "One revision of a flavour: its base, layers, left-out base packages and the packages a build installs",
  tags: ["flavours"],
  role: "customer",
  params: revisionParams,
  notFound: "No such flavour revision.",
  response: Revision,
});

export const exportRevision = route({
  method: "GET",
  path: "/api/v1/flavours/{id}/revisions/{number}/export",
  summary: "Export a revision: the flavour document (YAML), or a luet-style tar",
  description: "`?format=yaml` (default) answers the flavour document (application/yaml) that POST /api/v1/flavours/import takes back; `?format=luet` a tar (application/x-tar) of definition.yaml and build.yaml per package.",
  tags: ["flavours"],
  role: "customer",
  params: revisionParams,
  notFound: "No such flavour revision.",
  query: z.object({ format: z.enum(["yaml", "luet"], { error: 'format must be "yaml" or "luet"' }).default("yaml").describe('"yaml" (default) or "luet"') }),
  response: { contentType: "application/yaml", description: "The flavour document (with ?format=luet: application/x-tar)" },
});

export const diffRevisions = route({
  method: "GET",
  path: "/api/v1/flavours/{id}/diff",
  summary: "The packages two revisions differ in",
  description: "`to` defaults to the latest revision, `from` to the one before it (or the base, for revision 1); `from=base` compares with the plain base.",
  tags: ["flavours"],
  role: "customer",
  params: flavourParams,
  notFound: NO_FLAVOUR,
  query: z.object({
    from: z
      .union([z.literal("base"), revisionQuery('from must be a revision number (1, 2, …) or "base"')], { error: 'from must be a revision number (1, 2, …) or "base"' })
      .optional()
      .describe('A revision number, or "base"'),
    to: revisionQuery("to must be a revision number (1, 2, …)").optional().describe("A revision number (default: the latest)"),
  }),
  response: z.object({
    from: z.string().describe('"revision 1" or "<base> <version>"'),
    to: z.string(),
    diff: PackagesDiff,
    excluded: z.object({ from: z.array(z.string()), to: z.array(z.string()) }).describe("The base packages each side leaves out"),
  }),
});

export const previewRebase = route({
  method: "GET",
  path: "/api/v1/flavours/{id}/rebase",
  summary: "What a rebase onto another base-manifest version would change, and whether the layers still fit",
  tags: ["flavours"],
  role: "customer",
  params: flavourParams,
  notFound: NO_FLAVOUR,
  query: z.object({ baseManifestId: z.uuid({ error: "baseManifestId is required: the id of the base manifest to rebase onto" }) }),
  response: z.object({
    from: BaseRef,
    to: BaseRef,
    diff: PackagesDiff,
    excludedPackages: z.array(z.string()).describe("The base packages the rebased revision leaves out"),
    notes: z.array(z.string()).describe("What the rebase does on its own, e.g. drops an exclusion of a package the target lacks"),
    problems: z.array(z.object({ path: z.string(), message: z.string() })).describe("Why the layers would not fit; empty when the rebase can go ahead"),
  }),
  errors: { 404: "No such flavour or base manifest" },
});

export const rebase = route({
  method: "POST",
  path: "/api/v1/flavours/{id}/rebase",
  summary: "Rebase the flavour onto another base-manifest version: a new revision",
  tags: ["flavours"],
  role: "customer",
  params: flavourParams,
  notFound: NO_FLAVOUR,
  body: RebaseInput,
  response: Revision,
  status: 201,
  errors: { 409: "The flavour is archived, or a newer revision was saved since `parentRevision`" },
});

export const importFlavour = route({
  method: "POST",
  path: "/api/v1/flavours/import",
  summary: "Import an exported flavour document (YAML) or luet tar (base64) as a new flavour",
  tags: ["flavours"],
  role: "customer",
  body: ImportFlavourInput,
  response: FlavourWithLatest,
  status: 201,
  errors: { 404: "The document names a base manifest this server does not have", 409: "The name is taken" },
});

// Channels of a flavour.

export const ChannelSummary = z.object({
  id: z.uuid(),
  name: z.string(),
  description: z.string(),
  rolloutPercent: z.number().int(),
  pausedAt: timestamp.nullable(),
  haltedAt: timestamp.nullable(),
  haltReason: z.string().nullable(),
  releaseId: z.uuid().nullable(),
  releaseVersion: z.string().nullable(),
  devices: z.number().int().describe("Devices on the channel (not revoked)"),
  pending: z.number().int().describe("Release requests waiting for approval"),
  createdAt: timestamp,
});

export const listChannels = route({
  method: "GET",
  path: "/api/v1/flavours/{id}/channels",
  summary: "The flavour's channels (stable and beta first) with their current release and device counts",
  tags: ["channels"],
  role: "customer",
  params: flavourParams,
  notFound: NO_FLAVOUR,
  response: z.object({ flavour: z.object({ id: z.uuid(), name: z.string() }), channels: z.array(ChannelSummary) }),
});

export const createChannel = route({
  method: "POST",
  path: "/api/v1/flavours/{id}/channels",
  summary: "Add a channel next to stable and beta",
  tags: ["channels"],
  role: "customer",
  params: flavourParams,
  notFound: NO_FLAVOUR,
  body: CreateChannelInput,
  response: z.object({
    id: z.uuid(),
    orgId: z.uuid(),
    flavourId: z.uuid(),
    name: z.string(),
    description: z.string(),
    releaseId: z.uuid().nullable(),
    rolloutPercent: z.number().int(),
    pausedAt: timestamp.nullable(),
    failureThresholdPercent: z.number().int(),
    failureMinReports: z.number().int(),
    createdAt: timestamp,
  }),
  status: 201,
  errors: { 409: "The flavour has a channel of that name" },
});

// Images made by hand, imported as builds.

export const ImportPlan = z.object({
  reference: z.string(),
  source: z.string().describe("host/repository[:tag]@digest: what the imported build records as its source"),
  digest: z.string().describe("The image manifest's digest: pass it to the import"),
  mediaType: z.string(),
  size: z.number().int().describe("Compressed bytes of every layer"),
  parent: z.object({ id: z.uuid(), version: z.string(), layers: z.number().int() }).describe("The build the image was made from"),
  layers: z.array(
    z.object({
      position: z.number().int().describe("1-based position in the image"),
      diffId: z.string(),
      digest: z.string(),
      size: z.number().int(),
      mediaType: z.string(),
      createdBy: z.string().nullable().describe("The history's created_by, e.g. the docker commit that made it"),
    }),
  ),
  version: z.string().describe("The version the import would get now"),
});

export const checkImport = route({
  method: "POST",
  path: "/api/v1/flavours/{id}/imports/check",
  summary: "What importing an image would bring in (its parent build and extra layers); writes nothing",
  tags: ["builds"],
  role: "customer",
  params: flavourParams,
  notFound: NO_FLAVOUR,
  body: CheckImportInput,
  response: ImportPlan,
});

export const importImage = route({
  method: "POST",
  path: "/api/v1/flavours/{id}/imports",
  summary: "Import exactly the checked image digest as a build of the flavour",
  tags: ["builds"],
  role: "customer",
  params: flavourParams,
  notFound: NO_FLAVOUR,
  body: ImportInput,
  response: z.object({
    id: z.uuid(),
    flavourId: z.uuid(),
    revisionNumber: z.number().int(),
    version: z.string(),
    status: z.enum(BUILD_STATUSES),
    kind: z.enum(BUILD_KINDS),
    parentBuildId: z.uuid().nullable(),
    sourceReference: z.string().nullable(),
    imageRef: z.string().nullable(),
    imageDigest: z.string().nullable(),
    createdAt: timestamp,
  }),
  status: 201,
  errors: { 409: "The tag moved since the check, or the image is not one of the flavour's builds plus layers" },
});
