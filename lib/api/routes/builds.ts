// Builds: read one, its live events and log, cancel, retry, an import's diff, an artefact's files, its disk images.
import { z } from "zod";
import { idParams, route, timestamp, uuid } from "../spec";
import { BuildItem, LogLineItem } from "../../builds/view";
import { DiskImageInput } from "../../disk-images/disk-images";
import { DiskImageItem } from "../../disk-images/view";

const NO_BUILD = "No such build.";

/** The build row without its packages: what cancel and retry answer with. */
export const BuildSummaryItem = BuildItem.omit({ packages: true, startedByUser: true, repositoryRevision: true });

const logQuery = z.object({
  after: z.coerce.number().int().min(0).default(0).describe("The last line id already read; lines after it are returned"),
  limit: z.coerce.number().int().min(1).max(5000).default(1000).describe("Lines at most (1–5000, default 1000)"),
});

export const getBuild = route({
  method: "GET",
  path: "/api/v1/builds/{id}",
  summary: "One build: state, progress, packages and their artefacts, the pushed image",
  tags: ["builds"],
  role: "customer",
  params: idParams,
  notFound: NO_BUILD,
  response: BuildItem,
});

export const cancelBuild = route({
  method: "POST",
  path: "/api/v1/builds/{id}/cancel",
  summary: "Cancel a build: a queued one at once, a running one is stopped by its worker",
  tags: ["builds"],
  role: "customer",
  params: idParams,
  notFound: NO_BUILD,
  response: BuildSummaryItem,
  errors: { 409: "The build has finished already" },
});

export const retryBuild = route({
  method: "POST",
  path: "/api/v1/builds/{id}/retry",
  summary: "Build a failed or cancelled build's revision again (finished packages come from the cache)",
  tags: ["builds"],
  role: "customer",
  params: idParams,
  notFound: NO_BUILD,
  response: BuildSummaryItem,
  status: 201,
  errors: { 409: "Only failed or cancelled builds can be retried", 429: "Your organisation has its limit of builds waiting; see Retry-After" },
});

export const buildEvents = route({
  method: "GET",
  path: "/api/v1/builds/{id}/events",
  summary: "The build's live events",
  description:
    "Server-sent events: `build` (the build, as GET /api/v1/builds/{id} shapes it) whenever something shown changes, `log` (an array of log lines; the event id is the last line's id), `end` (`{ status }`) once the build is final. Resumes after the line id in Last-Event-ID or `?after=`. 429 when you have STRATA_MAX_STREAMS_PER_USER streams open in this web process already.",
  tags: ["builds"],
  role: "customer",
  params: idParams,
  notFound: NO_BUILD,
  query: z.object({ after: z.coerce.number().int().min(0).optional().describe("The last line id already read (Last-Event-ID takes precedence)") }),
  response: { contentType: "text/event-stream", description: "`build`, `log` and `end` events" },
  errors: { 429: "Too many live logs open; close one" },
});

export const buildLogs = route({
  method: "GET",
  path: "/api/v1/builds/{id}/logs",
  summary: "The build's log lines in order, for clients that poll instead of streaming",
  tags: ["builds"],
  role: "customer",
  params: idParams,
  notFound: NO_BUILD,
  query: logQuery,
  response: z.object({ lines: z.array(LogLineItem.extend({ at: timestamp })) }),
});

const ImportDiffItem = z.object({
  build: z.object({ id: uuid, version: z.string() }),
  parent: z.object({ id: uuid, version: z.string() }).nullable(),
  importedBy: z.object({ name: z.string(), email: z.string() }).nullable(),
  importedAt: timestamp,
  sourceReference: z.string().nullable(),
  layers: z.array(
    z.object({
      packageId: z.string(),
      diffId: z.string().nullable(),
      digest: z.string().nullable(),
      size: z.number().int().nullable(),
      createdBy: z.string().nullable().describe("The command that made the layer, from the image's history"),
      artefact: z.object({ digest: z.string(), fileCount: z.number().int(), uncompressedSize: z.number().int() }).nullable(),
    }),
  ),
  totals: z.object({ added: z.number().int(), changed: z.number().int(), removed: z.number().int() }),
  files: z.array(z.object({ path: z.string(), change: z.enum(["added", "changed", "removed"]), type: z.string().nullable(), size: z.number().int().nullable() })),
  truncated: z.boolean().describe("More files changed than `files` lists"),
});

export const buildDiff = route({
  method: "GET",
  path: "/api/v1/builds/{id}/diff",
  summary: "An imported build against its parent build: source, extra layers and the files they add, change and remove",
  tags: ["builds"],
  role: "customer",
  params: idParams,
  notFound: NO_BUILD,
  response: ImportDiffItem,
  errors: { 404: "No such build, or it was built by Strata rather than imported" },
});

export const buildArtefact = route({
  method: "GET",
  path: "/api/v1/builds/{id}/artefacts/{digest}",
  summary: "An artefact of the build: its metadata and file list (the first 5,000 files)",
  tags: ["builds"],
  role: "customer",
  params: z.object({ id: uuid, digest: z.string().min(1).max(200).describe("The artefact's digest, sha256:…") }),
  notFound: NO_BUILD,
  response: z.object({
    digest: z.string(),
    size: z.number().int(),
    uncompressedSize: z.number().int(),
    fileCount: z.number().int(),
    compression: z.string(),
    deleted: z.array(z.string()).describe("Paths the layer deletes from lower layers"),
    createdAt: timestamp,
    files: z.array(
      z.object({
        path: z.string(),
        type: z.enum(["file", "directory", "symlink", "link"]),
        size: z.number().int(),
        mode: z.number().int(),
        target: z.string().nullable(),
        sha256: z.string().nullable(),
      }),
    ),
    filesTruncated: z.boolean(),
  }),
  errors: { 404: "No such build, or no such artefact in it" },
});

export const listBuildDiskImages = route({
  method: "GET",
  path: "/api/v1/builds/{id}/disk-images",
  summary: "The build's disk images, newest first",
  tags: ["disk-images"],
  role: "customer",
  params: idParams,
  notFound: NO_BUILD,
  response: z.object({ diskImages: z.array(DiskImageItem) }),
});

export const requestBuildDiskImage = route({
  method: "POST",
  path: "/api/v1/builds/{id}/disk-images",
  summary: "Ask for a bootable A/B disk image of a succeeded build",
  description: "201 with a new disk image (made by a worker); 200 with the one already asked for with the same size and formats.",
  tags: ["disk-images"],
  role: "customer",
  params: idParams,
  notFound: NO_BUILD,
  body: DiskImageInput,
  response: DiskImageItem,
  status: 201,
  errors: { 409: "The build has not succeeded" },
});
