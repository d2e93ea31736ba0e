// Lists that grow, paged with opaque cursors (lib/api/cursor.ts), and the writes that share their files: flavours,
// a flavour's builds and revisions, the audit log, devices, release requests. Item schemas live here; other modules
// import them.
import { z } from "zod";
import { BUILD_KINDS, BUILD_PHASES, BUILD_STATUSES, RELEASE_STATUSES, UPGRADE_RESULTS } from "../../db/schema";
import { CreateFlavourInput, SaveRevisionInput } from "../../flavours/flavours";
import { StartBuildInput } from "../../builds/builds";
import { RequestReleaseInput } from "../../releases/releases";
import { BaseRef, Flavour, FlavourWithLatest, Revision } from "./flavours";
import { idParams, page, pageQuery, positiveInt, queryFlag, route, timestamp } from "../spec";

const ref = z.object({ id: z.uuid(), name: z.string() });
const search = (what: string) =>
  z.string().trim().max(100, "q is at most 100 characters").optional().describe(`Part of the ${what}, any case`);

// Flavours.

export const FlavourItem = Flavour.extend({
  latestRevision: z.number().int(),
  base: BaseRef.describe("The base manifest version the latest revision sits on"),
});

/** A revision with its packages: what a save, a rebase or a read of one revision answers (one shape, from flavours.ts). */
export const RevisionView = Revision;

export const listFlavours = route({
  method: "GET",
  path: "/api/v1/flavours",
  summary: "Your organisation's flavours (admins: every organisation's), the most recently changed first",
  tags: ["flavours"],
  role: "customer",
  query: pageQuery.extend({
    q: search("name"),
    archived: queryFlag.describe("true: the archived flavours instead of the active ones"),
  }),
  response: page("flavours", FlavourItem),
  paginated: true,
  errors: { 400: "A bad cursor, limit or filter" },
});

export const createFlavour = route({
  method: "POST",
  path: "/api/v1/flavours",
  summary: "Fork a base manifest version into a new flavour (revision 1, no layers yet)",
  tags: ["flavours"],
  role: "customer",
  body: CreateFlavourInput,
  response: FlavourWithLatest,
  status: 201,
  errors: { 404: "No such base manifest", 409: "The name (or its image repository) is taken" },
});

// Revisions.

export const RevisionItem = z.object({
  id: z.uuid(),
  number: z.number().int(),
  message: z.string(),
  createdAt: timestamp,
  createdBy: z.uuid().nullable(),
  layerCount: z.number().int(),
  excludedPackages: z.array(z.string()),
  base: BaseRef,
});

export const listRevisions = route({
  method: "GET",
  path: "/api/v1/flavours/{id}/revisions",
  summary: "A flavour's revisions, the newest first",
  tags: ["flavours"],
  role: "customer",
  params: idParams,
  notFound: "No such flavour.",
  query: pageQuery,
  response: page("revisions", RevisionItem),
  paginated: true,
  errors: { 400: "A bad cursor or limit", 404: "No such flavour" },
});

export const saveRevision = route({
  method: "POST",
  path: "/api/v1/flavours/{id}/revisions",
  summary: "Save new layers (and/or left-out base packages) as the next revision",
  tags: ["flavours"],
  role: "customer",
  params: idParams,
  notFound: "No such flavour.",
  body: SaveRevisionInput,
  response: RevisionView,
  status: 201,
  errors: { 404: "No such flavour", 409: "A newer revision was saved since parentRevision, or the flavour is archived", 422: "The layers do not fit the base" },
});

// Builds.

export const BuildItem = z.object({
  id: z.uuid(),
  version: z.string().describe("r<revision>.<n-th build of it>, or r<r>.<n>-import.<m> for an imported image"),
  revisionNumber: z.number().int(),
  status: z.enum(BUILD_STATUSES),
  kind: z.enum(BUILD_KINDS),
  fromScratch: z.boolean(),
  scheduled: z.boolean(),
  totalPackages: z.number().int(),
  donePackages: z.number().int(),
  phase: z.enum(BUILD_PHASES).nullable(),
  phaseDetail: z.string().nullable(),
  imageRef: z.string().nullable(),
  imageDigest: z.string().nullable(),
  sourceReference: z.string().nullable(),
  error: z.string().nullable(),
  createdAt: timestamp,
  startedAt: timestamp.nullable(),
  finishedAt: timestamp.nullable(),
  startedBy: z.object({ name: z.string(), email: z.string() }).nullable().describe("Who pressed Build; null for the schedule or a deleted user"),
});

/** A build as it was queued: what starting one answers. */
export const QueuedBuild = BuildItem.omit({ startedBy: true }).extend({ flavourId: z.uuid(), revisionId: z.uuid(), retryOf: z.uuid().nullable() });

export const listBuilds = route({
  method: "GET",
  path: "/api/v1/flavours/{id}/builds",
  summary: "A flavour's builds, the newest first, with filters",
  tags: ["builds"],
  role: "customer",
  params: idParams,
  notFound: "No such flavour.",
  query: pageQuery.extend({
    status: z.enum(BUILD_STATUSES, `status is one of ${BUILD_STATUSES.join(", ")}`).optional(),
    revision: positiveInt.optional().describe("Builds of this revision number only"),
    q: search("version, e.g. r12. or import"),
  }),
  response: page("builds", BuildItem),
  paginated: true,
  errors: { 400: "A bad cursor, limit or filter", 404: "No such flavour" },
});

export const startBuild = route({
  method: "POST",
  path: "/api/v1/flavours/{id}/builds",
  summary: "Build a revision (the latest when omitted) into an OS image; the build and its job are queued together",
  tags: ["builds"],
  role: "customer",
  params: idParams,
  notFound: "No such flavour.",
  body: StartBuildInput,
  response: QueuedBuild,
  status: 201,
  errors: { 404: "No such flavour or revision", 409: "The flavour is archived, or the version was taken at the same moment", 429: "Your organisation has its limit of queued builds" },
});

// The audit log.

export const AuditItem = z.object({
  id: z.number().int(),
  at: timestamp,
  action: z.string().describe("What happened, e.g. release.approve, device.move, token.create"),
  subject: z.string().nullable().describe("The id of what it happened to"),
  channelId: z.uuid().nullable(),
  orgId: z.uuid().nullable(),
  orgName: z.string().nullable(),
  actor: z.string().nullable().describe("The e-mail of who did it; null for a device or Strata itself"),
  detail: z.record(z.string(), z.unknown()).nullable().describe("What it was before and after, and other detail"),
});

export const listAudit = route({
  method: "GET",
  path: "/api/v1/audit",
  summary: "The audit log, newest first (admins: every organisation)",
  tags: ["audit"],
  role: "customer",
  query: pageQuery.extend({ channel: z.uuid("channel must be a channel id").optional().describe("Entries about this channel only") }),
  response: page("entries", AuditItem),
  paginated: true,
  errors: { 400: "A bad cursor, limit or channel" },
});

export const listChannelAudit = route({
  method: "GET",
  path: "/api/v1/channels/{id}/audit",
  summary: "A channel's audit log, newest first",
  tags: ["audit", "channels"],
  role: "customer",
  params: idParams,
  notFound: "No such channel.",
  query: pageQuery,
  response: page("entries", AuditItem),
  paginated: true,
  errors: { 400: "A bad cursor or limit", 404: "No such channel" },
});

// Devices.

export const DeviceItem = z.object({
  id: z.uuid(),
  name: z.string(),
  orgId: z.uuid(),
  channel: ref,
  flavour: ref,
  pinnedReference: z.string().nullable().describe("An image reference that overrides the channel's release"),
  registeredAt: timestamp,
  lastSeenAt: timestamp.nullable(),
  lastAddress: z.string().nullable(),
  currentDigest: z.string().nullable(),
  currentVersion: z.string().nullable(),
  lastResult: z.enum(UPGRADE_RESULTS).nullable(),
  lastMessage: z.string().nullable(),
  lastReportAt: timestamp.nullable(),
  agentVersion: z.string().nullable(),
  revokedAt: timestamp.nullable(),
});

export const listDevices = route({
  method: "GET",
  path: "/api/v1/devices",
  summary: "The device inventory, the latest registered first",
  tags: ["devices"],
  role: "customer",
  query: pageQuery.extend({
    channel: z.uuid("channel must be a channel id").optional().describe("Devices on this channel only"),
    flavour: z.uuid("flavour must be a flavour id").optional().describe("Devices on this flavour's channels only"),
    revoked: queryFlag.describe("true: include revoked devices"),
  }),
  response: page("devices", DeviceItem),
  paginated: true,
  errors: { 400: "A bad cursor, limit or filter" },
});

// Release requests.

export const ReleaseItem = z.object({
  id: z.uuid(),
  version: z.string(),
  notes: z.string(),
  status: z.enum(RELEASE_STATUSES),
  imageRef: z.string().describe("The image by digest: what devices pull"),
  imageDigest: z.string(),
  imageSize: z.number().int().nullable(),
  rolloutPercent: z.number().int().nullable(),
  requestedAt: timestamp,
  requestedBy: z.string().nullable().describe("The e-mail of who asked"),
  decidedAt: timestamp.nullable(),
  decisionReason: z.string().nullable(),
  channel: ref,
  flavour: ref,
  org: ref,
  build: z.object({ id: z.uuid(), version: z.string(), kind: z.enum(BUILD_KINDS), sourceReference: z.string().nullable() }),
});

/** A release request as it was stored: what asking for one answers. */
export const RequestedRelease = z.object({
  id: z.uuid(),
  orgId: z.uuid(),
  channelId: z.uuid(),
  buildId: z.uuid(),
  version: z.string(),
  notes: z.string(),
  status: z.enum(RELEASE_STATUSES),
  imageRef: z.string(),
  imageDigest: z.string(),
  imageSize: z.number().int().nullable(),
  rolloutPercent: z.number().int().nullable(),
  requestedAt: timestamp,
  decidedAt: timestamp.nullable(),
  decisionReason: z.string().nullable(),
});

const releaseStatus = z
  .enum(["pending", "approved", "rejected", "decided"], "status is pending, approved, rejected or decided")
  .optional()
  .describe("pending: the approval queue, oldest first; decided: approved or rejected, the latest decisions first");

export const listReleases = route({
  method: "GET",
  path: "/api/v1/releases",
  summary: "Release requests (admins: every organisation's)",
  tags: ["releases"],
  role: "customer",
  query: pageQuery.extend({ status: releaseStatus, channel: z.uuid("channel must be a channel id").optional() }),
  response: page("releases", ReleaseItem),
  paginated: true,
  errors: { 400: "A bad cursor, limit or filter" },
});

export const listChannelReleases = route({
  method: "GET",
  path: "/api/v1/channels/{id}/releases",
  summary: "A channel's release requests, the newest first",
  tags: ["releases", "channels"],
  role: "customer",
  params: idParams,
  notFound: "No such channel.",
  query: pageQuery.extend({ status: releaseStatus }),
  response: page("releases", ReleaseItem),
  paginated: true,
  errors: { 400: "A bad cursor, limit or filter", 404: "No such channel" },
});

export const requestRelease = route({
  method: "POST",
  path: "/api/v1/channels/{id}/releases",
  summary: "Ask to release a succeeded build on the channel with a version; it waits for an admin's approval",
  tags: ["releases", "channels"],
  role: "customer",
  params: idParams,
  notFound: "No such channel.",
  body: RequestReleaseInput,
  response: RequestedRelease,
  status: 201,
  errors: { 404: "No such channel or build", 409: "The version was rejected on this channel before", 422: "The build has not succeeded, is of another flavour, or the version is not higher" },
});
