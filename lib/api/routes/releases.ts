// Releases: one with its diff against the channel's current release, and the admin's approve and reject.
import { z } from "zod";
import { idParams, route, uuid } from "../spec";
import { ApproveInput, RejectInput } from "../../releases/releases";
import { ReleaseItem, RequestedRelease } from "./lists";

const NO_RELEASE = "No such release.";

/** The release row a decision answers with: the stored request, and who decided. */
export const ReleaseDecisionItem = RequestedRelease.extend({ decidedBy: uuid.nullable().describe("The admin who decided") });

const sized = z.object({ key: z.string().describe("category/name"), version: z.string(), size: z.number().int() });
const debian = z.object({ name: z.string(), version: z.string() });

export const ReleaseDiffItem = z.object({
  source: z.enum(["repository", "builds"]).describe("Compared by the builds' repository revisions, or by their package lists"),
  packages: z.object({
    added: z.array(sized),
    removed: z.array(sized),
    changed: z.array(z.object({ key: z.string(), from: z.string(), to: z.string(), sizeDelta: z.number().int(), sameArtefact: z.boolean() })),
    unchanged: z.number().int(),
    sizeDelta: z.number().int().describe("Compressed artefact bytes, to − from"),
  }),
  debianPackages: z
    .object({ added: z.array(debian), removed: z.array(debian), changed: z.array(z.object({ name: z.string(), from: z.string(), to: z.string() })) })
    .nullable()
    .describe("Null when either build has no repository revision"),
  imageSizeDelta: z.number().int().nullable(),
});

export const getRelease = route({
  method: "GET",
  path: "/api/v1/releases/{id}",
  summary: "One release with what it changes against the channel's current release",
  tags: ["releases"],
  role: "customer",
  params: idParams,
  notFound: NO_RELEASE,
  response: ReleaseItem.extend({
    repositoryRevision: z.object({ id: uuid, number: z.number().int() }).nullable(),
    current: z.object({ id: uuid, version: z.string() }).nullable().describe("The channel's release now"),
    diff: ReleaseDiffItem.nullable().describe("Against the current release; null when there is none or it is this one"),
  }),
});

export const approveRelease = route({
  method: "POST",
  path: "/api/v1/releases/{id}/approve",
  summary: "Approve a pending release: it becomes the channel's release for rolloutPercent of its devices",
  tags: ["releases"],
  role: "admin",
  params: idParams,
  notFound: NO_RELEASE,
  body: ApproveInput,
  response: ReleaseDecisionItem,
  errors: { 409: "The release was decided already, or is not higher than the channel's release" },
});

export const rejectRelease = route({
  method: "POST",
  path: "/api/v1/releases/{id}/reject",
  summary: "Reject a pending release, saying why",
  tags: ["releases"],
  role: "admin",
  params: idParams,
  notFound: NO_RELEASE,
  body: RejectInput,
  response: ReleaseDecisionItem,
  errors: { 409: "The release was decided already" },
});
