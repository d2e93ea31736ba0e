// The build as clients see it: the one shape GET /api/v1/builds/{id}, the build's event stream and the build page
// send. Parsing with it drops every column not listed (the worker, its job, its heartbeat, the claim counter), so
// what runs the build never reaches a browser.
import { z } from "zod";
import { BUILD_KINDS, BUILD_PHASES, BUILD_STATUSES, PACKAGE_STATUSES } from "../db/schema/builds";
import { timestamp } from "../api/spec";
import type { getBuild } from "./builds";

export const ArtefactSummary = z.object({
  digest: z.string().describe("sha256 of the compressed layer"),
  size: z.number().int().describe("Compressed bytes"),
  uncompressedSize: z.number().int(),
  fileCount: z.number().int(),
  compression: z.string().describe("gzip or zstd"),
});

export const ArtefactChangesItem = z.object({
  identical: z.boolean().describe("The artefact digests are equal"),
  added: z.number().int(),
  removed: z.number().int(),
  changed: z.number().int(),
  paths: z.array(z.object({ path: z.string(), change: z.enum(["added", "removed", "changed"]) })).describe("The first changed paths"),
  volatile: z.number().int().optional().describe("Differences in paths that change on every rebuild (logs, caches), not counted above"),
  volatilePaths: z.array(z.string()).optional(),
});

export const BuildPackageItem = z.object({
  position: z.number().int().describe("Order in the image, from 0"),
  packageId: z.string().describe("category/name"),
  version: z.string(),
  fromBase: z.boolean().describe("From the base manifest (true) or a layer of the flavour (false)"),
  status: z.enum(PACKAGE_STATUSES),
  cached: z.boolean().nullable().describe("Reused from an earlier build with the same cache key"),
  cacheKey: z.string().nullable().describe("The key the package was built or found under, as the repository shows it"),
  step: z.number().int().nullable(),
  steps: z.number().int().nullable(),
  durationMs: z.number().int().nullable(),
  expectedMs: z.number().int().nullable().describe("What the package is expected to take: 0 when cached already, null when unknown"),
  startedAt: timestamp.nullable(),
  previousArtefactDigest: z.string().nullable().describe("From-scratch builds: the artefact the cache held for this key before"),
  changes: ArtefactChangesItem.nullable().describe("From-scratch builds: how the rebuilt artefact differs from the previous one"),
  artefact: ArtefactSummary.nullable().describe("Recorded as soon as the package is done, while the build still runs"),
});

/** Retries after an engine or registry outage, as the build page shows them ("retrying in 8 s (attempt 2 of 4)"). */
export const BuildRetry = z.object({
  attemptNumber: z.number().int().describe("The attempt running now (running), due next (queued) or made last (finished); 1 is the first"),
  maxAttempts: z.number().int().describe("Attempts the build gets in all, the first included"),
  at: timestamp.nullable().describe("When the next attempt starts; null unless the build waits for one"),
  reason: z.string().nullable().describe("Why the last attempt failed"),
});

export const BuildItem = z.object({
  id: z.uuid(),
  flavourId: z.uuid(),
  revisionNumber: z.number().int(),
  version: z.string().describe("r<revision>.<n>: the image tag and VERSION in /etc/os-release"),
  status: z.enum(BUILD_STATUSES),
  kind: z.enum(BUILD_KINDS).describe("build: made by Strata; import: an image made by hand and imported"),
  fromScratch: z.boolean().describe("Built without the cache"),
  scheduled: z.boolean().describe("Started by the flavour's from-scratch schedule"),
  parentBuildId: z.uuid().nullable().describe("Imports: the build the image was made from"),
  sourceReference: z.string().nullable().describe("Imports: the reference it was imported from, by digest"),
  totalPackages: z.number().int(),
  donePackages: z.number().int(),
  currentPackage: z.string().nullable(),
  phase: z.enum(BUILD_PHASES).nullable().describe("Set while running"),
  phaseDetail: z.string().nullable(),
  imageRef: z.string().nullable().describe("The pushed image, by tag"),
  imageDigest: z.string().nullable(),
  imageSize: z.number().int().nullable().describe("Compressed layers, bytes"),
  error: z.string().nullable(),
  retryOf: z.uuid().nullable().describe("The failed or cancelled build this one retries (Retry build)"),
  retry: BuildRetry.nullable().describe("Automatic retries after an outage; null while the first attempt is the only one"),
  createdAt: timestamp,
  startedAt: timestamp.nullable(),
  finishedAt: timestamp.nullable(),
  cancelRequestedAt: timestamp.nullable(),
  logBytes: z.number().int().describe("Step output kept, bytes"),
  logLines: z.number().int().describe("Step output kept, lines"),
  logDroppedLines: z.number().int().describe("Lines dropped by the per-second limit"),
  startedByUser: z.object({ name: z.string(), email: z.string() }).nullable(),
  repositoryRevision: z.number().int().nullable().describe("The package repository revision this build published"),
  packages: z.array(BuildPackageItem),
});

export type BuildItemJson = z.output<typeof BuildItem>;

export const LogLineItem = z.object({
  id: z.number().int().describe("Increasing; pass the last one as `after` (or Last-Event-ID) to continue"),
  packageId: z.string().nullable().describe("The package whose step printed it; null for the build's own lines"),
  line: z.string(),
});

type BuildRow = Awaited<ReturnType<typeof getBuild>>;

/** The retry object of a build row: null unless an attempt was retried or a retry is due. */
export function buildRetry(build: Pick<BuildRow, "status" | "attempt" | "maxAttempts" | "retryAt" | "retryReason">): { attemptNumber: number; maxAttempts: number; at: Date | null; reason: string | null } | null {
  if (!build.retryAt && build.attempt <= 1) return null;
  return {
    attemptNumber: build.status === "queued" ? build.attempt + 1 : build.attempt,
    maxAttempts: build.maxAttempts,
    at: build.retryAt,
    reason: build.retryReason,
  };
}

/** getBuild's row with the retry object, before the schema drops the columns clients do not get. */
export const buildForClient = (build: BuildRow) => ({ ...build, retry: buildRetry(build) });

/** The build exactly as the API sends it (dates as ISO strings). */
export const shownBuild = (build: BuildRow): BuildItemJson => BuildItem.parse(buildForClient(build));
