// The OpenAPI document of /api/v1, grown with the API. Request schemas come from the same zod schemas the handlers parse with.
import { z } from "zod";
import { SignUpInput } from "./auth/sign-up";
import { CreateTokenInput } from "./auth/tokens";
import { PublishBaseManifestInput } from "./base-manifests/base-manifests";
import { CreateFlavourInput, RebaseInput, SaveRevisionInput, UpdateFlavourInput } from "./flavours/flavours";
import { StartBuildInput } from "./builds/builds";
import { ImportFlavourInput } from "./flavours/transfer";
import { PackageDefinitionSchema } from "./manifest/schema";
import { CreateChannelInput, PauseInput, RollbackInput, RolloutInput, UpdateChannelInput } from "./channels/channels";
import { ApproveInput, RejectInput, RequestReleaseInput } from "./releases/releases";
import { CreateRegistrationTokenInput } from "./devices/registration-tokens";
import { UpdateDeviceInput } from "./devices/devices";
import { DiskImageInput } from "./disk-images/disk-images";
import { DISK_FORMATS } from "./disk-images/layout";
import { CheckImportInput, ImportInput } from "./builds/import";

type Operation = {
  summary: string;
  tags: string[];
  security?: Array<Record<string, string[]>>;
  parameters?: unknown[];
  requestBody?: unknown;
  responses: Record<string, unknown>;
};

const json = (schema: unknown) => ({ content: { "application/json": { schema } } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const err = (description: string) => ({ description, ...json(ref("Error")) });
const idParam = (name = "id", description = "id") => ({ name, in: "path", required: true, schema: { type: "string", format: "uuid" }, description });
const input = (schema: z.ZodType) => z.toJSONSchema(schema, { io: "input", unrepresentable: "any" });

const paths: Record<string, Record<string, Operation>> = {};

/** Registers operations; feature modules call this so the document grows with the API. */
export function addPaths(more: Record<string, Record<string, Operation>>) {
  for (const [path, ops] of Object.entries(more)) paths[path] = { ...paths[path], ...ops };
}

addPaths({
  "/me": {
    get: { summary: "Who you are: user, organisation, how you authenticated", tags: ["account"], responses: { 200: { description: "The actor" }, 401: err("Not signed in") } },
  },
  "/sign-up": {
    post: {
      summary: "Create an organisation and its first customer",
      tags: ["account"],
      security: [],
      requestBody: json(input(SignUpInput)),
      responses: { 201: { description: "Created" }, 400: err("Malformed JSON"), 409: err("E-mail taken"), 422: err("Invalid field or weak password") },
    },
  },
  "/tokens": {
    get: { summary: "Your personal access tokens (never the secret)", tags: ["tokens"], responses: { 200: { description: "Tokens" }, 401: err("Not signed in") } },
    post: {
      summary: "Create a personal access token; the response holds the secret, shown once",
      tags: ["tokens"],
      requestBody: json(input(CreateTokenInput)),
      responses: { 201: { description: "Created; `token` is the secret" }, 422: err("Invalid field") },
    },
  },
  "/tokens/{id}": {
    delete: { summary: "Revoke a token", tags: ["tokens"], parameters: [idParam()], responses: { 204: { description: "Revoked" }, 404: err("No such token") } },
  },
  "/orgs": {
    get: { summary: "Organisations you can see (yours; admins: all)", tags: ["orgs"], responses: { 200: { description: "Organisations" } } },
  },
  "/orgs/{id}": {
    get: { summary: "One organisation and its members", tags: ["orgs"], parameters: [idParam()], responses: { 200: { description: "Organisation" }, 404: err("Not found (or not yours)") } },
  },
});

const revisionParam = { name: "number", in: "path", required: true, schema: { type: "integer", minimum: 1 }, description: "revision number" };
const invalid = err("Invalid input; `details.issues` lists each field (and line, for YAML)");

addPaths({
  "/base-manifests": {
    get: { summary: "Base-manifest versions", tags: ["manifests"], responses: { 200: { description: "Versions, newest first" } } },
    post: {
      summary: "Publish a new base-manifest version from YAML (admins)",
      tags: ["manifests"],
      requestBody: json(input(PublishBaseManifestInput)),
      responses: { 201: { description: "Published" }, 403: err("Not an admin"), 409: err("That version exists"), 422: invalid },
    },
  },
  "/base-manifests/{id}": {
    get: {
      summary: "One version: header, ordered packages and the requires graph; `?format=yaml` downloads the YAML",
      tags: ["manifests"],
      parameters: [idParam()],
      responses: { 200: { description: "The manifest" }, 404: err("No such version") },
    },
  },
  "/manifests/validate": {
    post: { summary: "Validate manifest, package or layers YAML without saving; errors carry line and field", tags: ["manifests"], responses: { 200: { description: "{ ok, value } or { ok: false, errors }" } } },
  },
  "/catalog": { get: { summary: "Ready-made layers and the JSON schema of each form", tags: ["manifests"], responses: { 200: { description: "Entries" } } } },
  "/catalog/{entry}": {
    post: {
      summary: "Turn a catalog form into a layer's package definition (not saved)",
      tags: ["manifests"],
      parameters: [{ name: "entry", in: "path", required: true, schema: { type: "string" } }],
      responses: { 200: { description: "{ layer }" }, 404: err("No such entry"), 422: invalid },
    },
  },
  "/flavours": {
    get: { summary: "Your organisation's flavours (`?archived=true` for archived ones)", tags: ["flavours"], responses: { 200: { description: "Flavours" } } },
    post: { summary: "Fork a base-manifest version into a flavour (revision 1, no layers)", tags: ["flavours"], requestBody: json(input(CreateFlavourInput)), responses: { 201: { description: "Created; its images go to `imageRepository` (<org>/<name>), kept through renames" }, 409: err("Name taken, or its repository <org>/<name> belongs to a flavour renamed away from it"), 422: invalid } },
  },
  "/flavours/import": {
    post: { summary: "Import an exported flavour document (YAML) or luet tree (tar, base64) as a new flavour", tags: ["flavours"], requestBody: json(input(ImportFlavourInput)), responses: { 201: { description: "Created" }, 422: invalid } },
  },
  "/flavours/{id}": {
    get: { summary: "A flavour and its latest revision", tags: ["flavours"], parameters: [idParam()], responses: { 200: { description: "Flavour" }, 404: err("Not found (or not yours)") } },
    patch: {
      summary:
        "Rename, describe, archive or restore; `scratchRebuildDays` (1–90, or null for off, the default) rebuilds the latest revision from scratch on a schedule, the first one interval after turning it on. The flavour shows `scratchRebuildDays` and `nextScratchRebuildAt`",
      tags: ["flavours"],
      parameters: [idParam()],
      requestBody: json(input(UpdateFlavourInput)),
      responses: { 200: { description: "Updated (a rename keeps `imageRepository`)" }, 404: err("Not found"), 409: err("Name taken, or its repository <org>/<name> belongs to another flavour"), 422: invalid },
    },
  },
  "/flavours/{id}/revisions": {
    get: { summary: "Revisions, newest first", tags: ["flavours"], parameters: [idParam()], responses: { 200: { description: "Revisions" } } },
    post: {
      summary:
        "Save the layers and the base packages left out as a new revision. Omitted `layers`/`layersYaml` or `excludedPackages` keep the latest revision's. A left-out package must be a package of the base, not essential (system/base, system/kernel, system/dracut, system/grub, system/boot) and required by no kept base package or layer; otherwise 422 with `details.issues` naming it and its dependents",
      tags: ["flavours"],
      parameters: [idParam()],
      requestBody: json({
        ...input(SaveRevisionInput),
        properties: {
          ...(input(SaveRevisionInput) as { properties?: object }).properties,
          layers: { type: "array", items: input(PackageDefinitionSchema) },
          excludedPackages: { type: "array", items: { type: "string", pattern: "^[a-z0-9][a-z0-9-]*/[a-z0-9][a-z0-9-]*$" }, description: "base packages (category/name) to leave out, e.g. [\"system/openssh\"]" },
        },
      }),
      responses: { 201: { description: "The new revision (with `excludedPackages`, and `packages`: kept base packages then layers)" }, 404: err("Not found"), 409: err("A newer revision exists, or the flavour is archived"), 422: invalid },
    },
  },
  "/flavours/{id}/revisions/{number}": {
    get: { summary: "One revision: base, layers, the base packages it leaves out (`excludedPackages`) and the package list a build installs", tags: ["flavours"], parameters: [idParam(), revisionParam], responses: { 200: { description: "Revision" }, 404: err("Not found") } },
  },
  "/flavours/{id}/revisions/{number}/export": {
    get: {
      summary: "Download a revision: `?format=yaml` (flavour document) or `?format=luet` (tar: definition.yaml + build.yaml a package)",
      tags: ["flavours"],
      parameters: [idParam(), revisionParam, { name: "format", in: "query", schema: { type: "string", enum: ["yaml", "luet"] } }],
      responses: { 200: { description: "The file" }, 404: err("Not found") },
    },
  },
  "/flavours/{id}/diff": {
    get: {
      summary: "Packages added, removed, changed (with line diffs) between two revisions, or a revision and its base",
      tags: ["flavours"],
      parameters: [idParam(), { name: "from", in: "query", schema: { type: "string" }, description: "revision number or `base`" }, { name: "to", in: "query", schema: { type: "integer" } }],
      responses: { 200: { description: "The diff" }, 400: err("Bad revision number"), 404: err("Not found") },
    },
  },
  "/flavours/{id}/rebase": {
    get: { summary: "Preview a rebase onto `?baseManifestId=`: the diff, the kept exclusions (with notes on dropped ones) and any layer or exclusion that no longer fits", tags: ["flavours"], parameters: [idParam()], responses: { 200: { description: "Preview" } } },
    post: { summary: "Rebase onto another base-manifest version (a new revision)", tags: ["flavours"], parameters: [idParam()], requestBody: json(input(RebaseInput)), responses: { 201: { description: "The new revision" }, 422: invalid } },
  },
});

const repoNumber = { name: "number", in: "path", required: true, schema: { type: "integer", minimum: 1 }, description: "repository revision number" };
const pkgParams = [
  { name: "category", in: "path", required: true, schema: { type: "string", pattern: "^[a-z0-9][a-z0-9-]*$" } },
  { name: "name", in: "path", required: true, schema: { type: "string", pattern: "^[a-z0-9][a-z0-9-]*$" } },
];
const pageParams = (what: string) => [
  { name: "q", in: "query", schema: { type: "string" }, description: `only ${what} whose path contains this (case-insensitive)` },
  { name: "after", in: "query", schema: { type: "string" }, description: "the `next` value of the previous page" },
  { name: "limit", in: "query", schema: { type: "integer", minimum: 1 } },
];
const notFound = err("Unknown flavour, revision or package (or not yours)");
const etagged = (description: string) => ({ description: `${description}; \`ETag\` + \`If-None-Match\` → 304` });

addPaths({
  "/flavours/{id}/repository": {
    get: { summary: "Revisions of the flavour's package repository (one per successful build), newest first", tags: ["repositories"], parameters: [idParam()], responses: { 200: { description: "Revisions" }, 404: notFound } },
  },
  "/flavours/{id}/repository/{number}": {
    get: { summary: "One revision: registry reference, index digest, packages in build order, Debian packages", tags: ["repositories"], parameters: [idParam(), repoNumber], responses: { 200: { description: "The revision" }, 404: notFound } },
  },
  "/flavours/{id}/repository/{number}/index.json": {
    get: { summary: "The index, byte for byte the OCI artifact's config (its sha256 is the index digest)", tags: ["repositories"], parameters: [idParam(), repoNumber], responses: { 200: etagged("The index"), 404: notFound } },
  },
  "/flavours/{id}/repository/{number}/repository.yaml": {
    get: {
      summary: "The revision as a luet repository.yaml (with the sha256 of tree.tar.gz and repository.meta.yaml.tar): the revision's URL is a luet HTTP repository",
      tags: ["repositories"],
      parameters: [idParam(), repoNumber],
      responses: { 200: etagged("YAML"), 404: notFound },
    },
  },
  "/flavours/{id}/repository/{number}/tree.tar.gz": {
    get: { summary: "luet's package tree of the revision: <category>/<name>/<version>/definition.yaml per package, same bytes every time", tags: ["repositories"], parameters: [idParam(), repoNumber], responses: { 200: etagged("gzip tar"), 404: notFound } },
  },
  "/flavours/{id}/repository/{number}/repository.meta.yaml.tar": {
    get: { summary: "luet's artifact index of the revision (repository.meta.yaml in a tar): each artefact's file name, sha256, compression and files", tags: ["repositories"], parameters: [idParam(), repoNumber], responses: { 200: etagged("tar"), 404: notFound } },
  },
  "/flavours/{id}/repository/{number}/{file}": {
    get: {
      summary: "An artefact by its luet file name, where luet fetches it; streamed like /artefacts/{digest}",
      tags: ["repositories"],
      parameters: [
        idParam(),
        repoNumber,
        { name: "file", in: "path", required: true, schema: { type: "string", pattern: "^[^/]+\\.package\\.tar\\.(zst|gz)$" }, description: "<name>-<category>-<version>.package.tar.zst (or .gz)" },
        { name: "Range", in: "header", schema: { type: "string" }, description: "one byte range, e.g. bytes=0-1023" },
      ],
      responses: {
        200: { description: "The artefact; `ETag` is its digest, `Cache-Control: public, immutable`" },
        206: { description: "The requested range" },
        304: { description: "Not modified (If-None-Match)" },
        404: err("No artefact of that name in the revision (or not yours)"),
        416: err("Range outside the artefact"),
      },
    },
  },
  "/flavours/{id}/repository/{number}/sbom.spdx.json": {
    get: { summary: "SPDX 2.3 JSON SBOM: every Debian package (version, source, licence) and every Strata package (artefact digest)", tags: ["repositories"], parameters: [idParam(), repoNumber], responses: { 200: etagged("The SBOM"), 404: notFound } },
  },
  "/flavours/{id}/repository/{number}/files": {
    get: {
      summary: "Which package ships this path? Files of the revision whose path contains `q`, in path order, paginated",
      tags: ["repositories"],
      parameters: [idParam(), repoNumber, ...pageParams("files")],
      responses: { 200: { description: "{ matches: [{ path, type, size, mode, target, sha256, package }], next }" }, 400: err("No or bad search text"), 404: notFound },
    },
  },
  "/flavours/{id}/repository/{number}/packages/{category}/{name}": {
    get: { summary: "One package: metadata, definition, artefact, requires and required-by", tags: ["repositories"], parameters: [idParam(), repoNumber, ...pkgParams], responses: { 200: { description: "The package" }, 404: notFound } },
  },
  "/flavours/{id}/repository/{number}/packages/{category}/{name}/files": {
    get: {
      summary: "A package's files (path, type, size, mode, link target, sha256) in path order, paginated",
      tags: ["repositories"],
      parameters: [idParam(), repoNumber, ...pkgParams, ...pageParams("files")],
      responses: { 200: { description: "{ files, total, next }" }, 404: notFound, 422: invalid },
    },
  },
  "/flavours/{id}/repository/{number}/packages/{category}/{name}/metadata.yaml": {
    get: { summary: "A package's luet metadata.yaml", tags: ["repositories"], parameters: [idParam(), repoNumber, ...pkgParams], responses: { 200: etagged("YAML"), 404: notFound } },
  },
  "/flavours/{id}/repository/diff": {
    get: {
      summary: "Diff two revisions of the flavour's repository: packages, their files, sizes and Debian package versions",
      tags: ["repositories"],
      parameters: [idParam(), { name: "from", in: "query", required: true, schema: { type: "integer" } }, { name: "to", in: "query", required: true, schema: { type: "integer" } }],
      responses: { 200: { description: "The diff" }, 400: err("Missing or bad revision number"), 404: notFound },
    },
  },
  "/repository/diff": {
    get: {
      summary: "Diff two repository revisions by id; both must be revisions of one flavour",
      tags: ["repositories"],
      parameters: [
        { name: "from", in: "query", required: true, schema: { type: "string", format: "uuid" } },
        { name: "to", in: "query", required: true, schema: { type: "string", format: "uuid" } },
      ],
      responses: { 200: { description: "The diff" }, 400: err("Not revision ids, or revisions of two flavours"), 404: notFound },
    },
  },
  "/artefacts/{digest}": {
    get: {
      summary: "An artefact's bytes (zstd or gzip tar), streamed; content-addressed, so cacheable for good",
      tags: ["repositories"],
      parameters: [{ name: "digest", in: "path", required: true, schema: { type: "string", pattern: "^sha256:[0-9a-f]{64}$" } }, { name: "Range", in: "header", schema: { type: "string" }, description: "one byte range, e.g. bytes=0-1023" }],
      responses: {
        200: { description: "The artefact; `ETag` is its digest, `Cache-Control: public, immutable`" },
        206: { description: "The requested range" },
        304: { description: "Not modified (If-None-Match)" },
        400: err("Not a sha256 digest, or a malformed Range"),
        404: err("No such artefact (or not in your organisation's builds)"),
        416: err("Range outside the artefact"),
      },
    },
  },
});

const forbidden = err("Needs an administrator");
const query = (name: string, description: string, schema: unknown = { type: "string" }) => ({ name, in: "query", required: false, schema, description });

addPaths({
  "/flavours/{id}/channels": {
    get: { summary: "The flavour's channels (stable and beta exist from the start) with their current release and device counts", tags: ["channels"], parameters: [idParam()], responses: { 200: { description: "Channels" }, 404: err("No such flavour") } },
    post: { summary: "Add a channel to the flavour", tags: ["channels"], parameters: [idParam()], requestBody: json(input(CreateChannelInput)), responses: { 201: { description: "Created" }, 404: err("No such flavour"), 409: err("Name taken"), 422: err("Invalid field") } },
  },
  "/channels/{id}": {
    get: { summary: "A channel: current and previous release, history, failure share, devices by version and result", tags: ["channels"], parameters: [idParam()], responses: { 200: { description: "The channel" }, 404: err("No such channel") } },
    patch: { summary: "Description and the auto-halt threshold (failure percentage, minimum reports)", tags: ["channels"], parameters: [idParam()], requestBody: json(input(UpdateChannelInput)), responses: { 200: { description: "Updated" }, 404: err("No such channel"), 422: err("Invalid field") } },
  },
  "/channels/{id}/releases": {
    get: { summary: "The channel's release requests and releases, newest first", tags: ["releases"], parameters: [idParam()], responses: { 200: { description: "Releases" } } },
    post: {
      summary: "Ask to release a succeeded build onto the channel with a semantic version higher than every earlier one; it waits for an admin",
      tags: ["releases"],
      parameters: [idParam()],
      requestBody: json(input(RequestReleaseInput)),
      responses: { 201: { description: "Requested (pending)" }, 404: err("No such channel or build"), 409: err("Version rejected before"), 422: err("Not semver, not higher, or the build did not succeed") },
    },
  },
  "/channels/{id}/pause": { post: { summary: "Admins: pause the channel; devices stay where they are", tags: ["channels"], parameters: [idParam()], requestBody: json(input(PauseInput)), responses: { 200: { description: "Paused" }, 403: forbidden, 409: err("Already paused") } } },
  "/channels/{id}/resume": { post: { summary: "Admins: resume a paused channel or a rollout that halted by itself", tags: ["channels"], parameters: [idParam()], responses: { 200: { description: "Resumed" }, 403: forbidden, 409: err("Neither paused nor halted") } } },
  "/channels/{id}/rollout": { post: { summary: "Admins: set the share of devices (by a stable hash of device and release) that get the current release", tags: ["channels"], parameters: [idParam()], requestBody: json(input(RolloutInput)), responses: { 200: { description: "Set" }, 403: forbidden, 409: err("No release, or the same percentage") } } },
  "/channels/{id}/rollback": { post: { summary: "Admins: make an earlier approved release the channel's release for every device", tags: ["channels"], parameters: [idParam()], requestBody: json(input(RollbackInput)), responses: { 200: { description: "Rolled back" }, 403: forbidden, 404: err("No such release on the channel"), 409: err("Already the current release"), 422: err("Never approved") } } },
  "/channels/{id}/registration-tokens": {
    get: { summary: "The channel's registration tokens (never the secret)", tags: ["devices"], parameters: [idParam()], responses: { 200: { description: "Tokens" }, 404: err("No such channel") } },
    post: { summary: "Create a registration token for devices; the response's `token` is shown once", tags: ["devices"], parameters: [idParam()], requestBody: json(input(CreateRegistrationTokenInput)), responses: { 201: { description: "Created" }, 404: err("No such channel"), 422: err("Invalid field") } },
  },
  "/channels/{id}/audit": { get: { summary: "The channel's audit log, newest first", tags: ["audit"], parameters: [idParam(), query("before", "entry id to page from", { type: "integer" }), query("limit", "1–200", { type: "integer" })], responses: { 200: { description: "Entries and `next`" }, 404: err("No such channel") } } },
  "/registration-tokens/{id}": { delete: { summary: "Revoke a registration token", tags: ["devices"], parameters: [idParam()], responses: { 204: { description: "Revoked" }, 404: err("No such token, or revoked already") } } },
  "/releases": {
    get: { summary: "Release requests; `?status=pending` is the approval queue (admins: every organisation)", tags: ["releases"], parameters: [query("status", "pending, approved, rejected or decided (approved or rejected, latest decision first)"), query("channel", "a channel id"), query("limit", "1–500 (500)", { type: "integer" })], responses: { 200: { description: "Releases" }, 422: err("Bad filter") } },
  },
  "/releases/{id}": { get: { summary: "A release with its diff against the channel's current release (from the repository, else the builds)", tags: ["releases"], parameters: [idParam()], responses: { 200: { description: "The release" }, 404: err("No such release") } } },
  "/releases/{id}/approve": { post: { summary: "Admins: approve; the release becomes the channel's release, rolled out to `rolloutPercent` of its devices", tags: ["releases"], parameters: [idParam()], requestBody: json(input(ApproveInput)), responses: { 200: { description: "Approved" }, 403: forbidden, 409: err("Decided already, or not higher than the current release") } } },
  "/releases/{id}/reject": { post: { summary: "Admins: reject with a reason", tags: ["releases"], parameters: [idParam()], requestBody: json(input(RejectInput)), responses: { 200: { description: "Rejected" }, 403: forbidden, 409: err("Decided already"), 422: err("No reason") } } },
  "/devices": { get: { summary: "The device inventory", tags: ["devices"], parameters: [query("channel", "a channel id"), query("flavour", "a flavour id"), query("revoked", "1 includes revoked devices")], responses: { 200: { description: "Devices" }, 422: err("Bad filter") } } },
  "/devices/{id}": {
    get: { summary: "One device", tags: ["devices"], parameters: [idParam()], responses: { 200: { description: "The device" }, 404: err("No such device") } },
    patch: { summary: "Rename, pin to an image reference (null unpins; overrides the channel), or move to another channel", tags: ["devices"], parameters: [idParam()], requestBody: json(input(UpdateDeviceInput)), responses: { 200: { description: "Updated" }, 404: err("No such device"), 409: err("Revoked"), 422: err("Bad reference or channel") } },
    delete: { summary: "Revoke the device: its secret stops working", tags: ["devices"], parameters: [idParam()], responses: { 200: { description: "Revoked" }, 404: err("No such device"), 409: err("Revoked already") } },
  },
  "/audit": { get: { summary: "The audit log (admins: every organisation), newest first", tags: ["audit"], parameters: [query("channel", "a channel id"), query("before", "entry id to page from", { type: "integer" }), query("limit", "1–200", { type: "integer" })], responses: { 200: { description: "Entries and `next`" } } } },
});

const dateTime = { type: "string", format: "date-time" };
const nullable = (schema: Record<string, unknown>) => ({ anyOf: [schema, { type: "null" }] });
const sha256 = { type: "string", pattern: "^sha256:[0-9a-f]{64}$" };

/** A disk image as the API returns it (the row; GET /disk-images/{id} adds `build` and `flavour`). */
const DiskImageSchema = {
  type: "object",
  required: ["id", "orgId", "buildId", "status", "sizeBytes", "formats", "layout", "progress", "phaseDetail", "files", "artifactRef", "error", "createdAt", "startedAt", "finishedAt"],
  properties: {
    id: { type: "string", format: "uuid" },
    orgId: { type: "string", format: "uuid" },
    buildId: { type: "string", format: "uuid" },
    status: { type: "string", enum: ["queued", "running", "succeeded", "failed"] },
    sizeBytes: { type: "integer", description: "the whole disk" },
    formats: { type: "array", items: { type: "string", enum: [...DISK_FORMATS] } },
    layout: {
      type: "object",
      description: "the GPT partitions: ESP, BIOS boot, slots A and B, state",
      properties: {
        size: { type: "integer" },
        partitions: {
          type: "array",
          items: {
            type: "object",
            properties: { number: { type: "integer" }, name: { type: "string" }, type: { type: "string", description: "GPT type GUID" }, offset: { type: "integer" }, size: { type: "integer" } },
          },
        },
      },
    },
    progress: { type: "integer", minimum: 0, maximum: 100 },
    phaseDetail: nullable({ type: "string", description: "what the job is doing now, one line" }),
    files: {
      type: "array",
      description: "the made files (once succeeded), content-addressed",
      items: {
        type: "object",
        required: ["format", "digest", "size", "mediaType"],
        properties: { format: { type: "string", enum: [...DISK_FORMATS] }, digest: sha256, size: { type: "integer" }, mediaType: { type: "string" } },
      },
    },
    artifactRef: nullable({ type: "string", description: "the OCI artifact holding the files: registry/org/flavour@sha256:…" }),
    error: nullable({ type: "string" }),
    requestedBy: nullable({ type: "string", format: "uuid" }),
    createdAt: dateTime,
    startedAt: nullable(dateTime),
    finishedAt: nullable(dateTime),
    build: {
      type: "object",
      description: "GET /disk-images/{id} only",
      properties: { id: { type: "string", format: "uuid" }, version: { type: "string" }, imageRef: nullable({ type: "string" }), imageDigest: nullable(sha256) },
    },
    flavour: { type: "object", description: "GET /disk-images/{id} only", properties: { id: { type: "string", format: "uuid" }, name: { type: "string" } } },
  },
};

const diskImageNotFound = err("No such disk image (or not yours)");

addPaths({
  "/builds/{id}/disk-images": {
    get: {
      summary: "The build's disk images, newest first",
      tags: ["disk-images"],
      parameters: [idParam("id", "build id")],
      responses: { 200: { description: "`{ diskImages }`", ...json({ type: "object", required: ["diskImages"], properties: { diskImages: { type: "array", items: ref("DiskImage") } } }) }, 404: err("No such build (or not yours)") },
    },
    post: {
      summary: "Make a bootable A/B disk image (raw and/or qcow2) of a succeeded build; a worker makes it. Asking again with the same size and formats returns the one already asked for",
      tags: ["disk-images"],
      parameters: [idParam("id", "build id")],
      requestBody: json(input(DiskImageInput)),
      responses: {
        201: { description: "Queued", ...json(ref("DiskImage")) },
        200: { description: "The same size and formats were asked for already (queued, running or made): that disk image", ...json(ref("DiskImage")) },
        404: err("No such build (or not yours)"),
        409: err("The build has not succeeded"),
        422: err("Not a size, too small for the build's root filesystem (the message names the smallest), above the maximum, or an unknown format"),
      },
    },
  },
  "/disk-images/{id}": {
    get: { summary: "One disk image: status, progress, files, layout, registry artifact", tags: ["disk-images"], parameters: [idParam()], responses: { 200: { description: "The disk image", ...json(ref("DiskImage")) }, 404: diskImageNotFound } },
  },
  "/disk-images/{id}/logs": {
    get: {
      summary: "The job's log lines after `after`, in order (poll with the last id you saw)",
      tags: ["disk-images"],
      parameters: [idParam(), query("after", "the last line id you saw (0: from the start)", { type: "integer", minimum: 0 }), query("limit", "1–5000 (1000)", { type: "integer", minimum: 1 })],
      responses: {
        200: {
          description: "The disk image's status and the lines",
          ...json({
            type: "object",
            required: ["status", "lines"],
            properties: {
              status: { type: "string", enum: ["queued", "running", "succeeded", "failed"] },
              lines: { type: "array", items: { type: "object", required: ["id", "line", "at"], properties: { id: { type: "integer" }, line: { type: "string" }, at: dateTime } } },
            },
          }),
        },
        400: err("after or limit is not a whole number"),
        404: diskImageNotFound,
      },
    },
  },
  "/disk-images/{id}/download/{format}": {
    get: {
      summary: "A made file, streamed: `raw` (<flavour>-<version>.img) or `qcow2`. `ETag` is its digest, `X-Checksum-Sha256` and `Digest` its sha256",
      tags: ["disk-images"],
      parameters: [
        idParam(),
        { name: "format", in: "path", required: true, schema: { type: "string", enum: [...DISK_FORMATS] } },
        { name: "Range", in: "header", schema: { type: "string" }, description: "one byte range: bytes=a-b, bytes=a- or bytes=-n" },
      ],
      responses: {
        200: { description: "The file", content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } } },
        206: { description: "The requested range, with `Content-Range`", content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } } },
        304: { description: "Not modified (If-None-Match)" },
        400: err("A malformed Range"),
        404: err("No such disk image or format, or the file is gone"),
        409: err("The disk image has not succeeded (yet)"),
        416: err("Range outside the file, or more than one range; `Content-Range: bytes */<size>`"),
      },
    },
    head: {
      summary: "The headers of the download (length, ETag, sha256) without the bytes",
      tags: ["disk-images"],
      parameters: [idParam(), { name: "format", in: "path", required: true, schema: { type: "string", enum: [...DISK_FORMATS] } }],
      responses: { 200: { description: "Headers only" }, 404: err("No such disk image or format"), 409: err("The disk image has not succeeded (yet)") },
    },
  },
});

const importRefusals = {
  403: err("The reference is in another organisation's repository (not under your organisation's slug/)"),
  404: err("No such flavour, or the registry has no such tag or digest"),
  409: err("The flavour is archived; on import, the tag names another digest than the one checked"),
  422: err(
    "The reference does not parse or names another registry; a manifest list or a non-image artifact; not made from a build of the flavour (details name the first differing layer and the closest build); or identical to a build (nothing to import)",
  ),
};

addPaths({
  "/flavours/{id}/imports/check": {
    post: {
      summary: "What importing an image made by hand (docker run, commit, push) would bring in: its digest, the build it was made from and its extra layers (size, history command). Writes nothing",
      tags: ["builds"],
      parameters: [idParam("id", "flavour id")],
      requestBody: json(input(CheckImportInput)),
      responses: { 200: { description: "`{ reference, source, digest, mediaType, size, parent: { id, version, layers }, layers: [{ position, diffId, digest, size, mediaType, createdBy }], version }`" }, ...importRefusals },
    },
  },
  "/flavours/{id}/imports": {
    post: {
      summary: "Import exactly the checked digest as a succeeded build <parent>-import.<n>: its extra layers become artefacts, the image is copied into the flavour's repository by the same digest",
      tags: ["builds"],
      parameters: [idParam("id", "flavour id")],
      requestBody: json(input(ImportInput)),
      responses: { 201: { description: "The imported build (kind \"import\", parentBuildId, sourceReference)" }, ...importRefusals },
    },
  },
  "/builds/{id}/diff": {
    get: {
      summary: "An imported build against its parent build: who imported it from where, its extra layers, and the files they add, change and remove",
      tags: ["builds"],
      parameters: [idParam("id", "build id")],
      responses: { 200: { description: "`{ build, parent, importedBy, importedAt, sourceReference, layers, totals: { added, changed, removed }, files: [{ path, change, type, size }], truncated }`" }, 404: err("No such build, or not an imported build") },
    },
  },
});

addPaths({
  "/flavours/{id}/builds": {
    get: { summary: "The flavour's builds, newest first (each with `fromScratch` and `scheduled`)", tags: ["builds"], parameters: [idParam()], responses: { 200: { description: "`{ builds }`" }, 404: err("No such flavour (or not yours)") } },
    post: {
      summary:
        "Start a build of a revision (the latest when `revision` is omitted). `cache: false` builds from scratch: every package built again without the cache, its image, shared-cache entry and artefact then the cached ones for its key; the build page compares each new artefact with the one the cache held",
      tags: ["builds"],
      parameters: [idParam()],
      requestBody: json(input(StartBuildInput)),
      responses: {
        201: { description: "The queued build, versioned r<revision>.<n> (n one more than the revision's highest, assigned under a lock)" },
        404: err("No such flavour or revision"),
        409: err("The flavour is archived"),
        422: invalid,
        429: err("Your organisation has its limit of builds waiting (STRATA_ORG_MAX_QUEUED, 20 by default); nothing was started"),
      },
    },
  },
  "/builds/{id}": {
    get: {
      summary:
        "A build with its packages. `fromScratch`/`scheduled` say how it was started; in a from-scratch build each package has `previousArtefactDigest` (the artefact the cache held for its key, null if none) and `changes` ({ identical, added, removed, changed, paths: first 20 `{ path, change }`, volatile, volatilePaths: differences only in logs and caches }), compared over path, type, mode, size, content and link target. While a retry after an engine or registry outage is pending the build is `queued` with `retryAt` (when the next attempt starts), `retryReason` (why the last one failed), `attempt` (attempts so far) and `maxAttempts`; a build held back by its organisation's cap on running builds is `queued` with `phaseDetail` \"waiting: …\"",
      tags: ["builds"],
      parameters: [idParam()],
      responses: { 200: { description: "The build" }, 404: err("No such build (or not yours)") },
    },
  },
  "/builds/{id}/retry": {
    post: { summary: "Retry a failed or cancelled build as a new build of the same revision (a from-scratch build stays one)", tags: ["builds"], parameters: [idParam()], responses: { 201: { description: "The new build" }, 404: err("No such build"), 409: err("Not failed or cancelled"), 429: err("Your organisation has its limit of builds waiting") } },
  },
});

export function openApiDocument(serverUrl: string) {
  return {
    openapi: "3.1.0",
    info: { title: "Strata API", version: "1", description: "Self-service portal for immutable Linux derivatives. Errors are `{ error: { code, message } }`." },
    servers: [{ url: `${serverUrl}/api/v1` }],
    security: [{ bearer: [] }, { session: [] }],
    components: {
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "A personal access token (strata_pat_…)" },
        session: { type: "apiKey", in: "cookie", name: "__Secure-next-auth.session-token" },
      },
      schemas: {
        Error: {
          type: "object",
          required: ["error"],
          properties: { error: { type: "object", required: ["code", "message"], properties: { code: { type: "string" }, message: { type: "string" }, details: {} } } },
        },
        DiskImage: DiskImageSchema,
      },
    },
    paths,
  };
}
