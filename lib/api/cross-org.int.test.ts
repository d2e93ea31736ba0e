// The cross-organisation sweep: every operation of the generated OpenAPI document, its path filled with the ids of
// organisation A's flavour, revision, build, artefact, repository revision, channel, release, device, registration
// token, disk image, API token and organisation (query and body ids too), called through its route handler with the
// bearer token of a customer of organisation B. None may answer 2xx on A's ids, and no answer may carry A's data.
// Rows that would cost a real build (a build, its repository revision, a device, a disk image) are inserted directly.
import crypto from "node:crypto";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { closeTestDb, insertStandInBuild, makeActor, removeTestOrgs, testDb } from "../testing/fixtures";
import { getPool } from "../db";
import { artefactFiles, artefacts, buildLogs, buildPackages, devices, diskImageLogs, diskImages, repositoryPackages, repositoryRevisions } from "../db/schema";
import type { Actor } from "../auth/actor";
import { createToken } from "../auth/tokens";
import { ensureBundledBaseManifests, listBaseManifests } from "../base-manifests/base-manifests";
import { createFlavour } from "../flavours/flavours";
import { listChannels } from "../channels/channels";
import { requestRelease } from "../releases/releases";
import { createRegistrationToken } from "../devices/registration-tokens";
import { liveBuildEvents } from "../builds/live";
import { openApiDocument } from "./openapi";

process.env.DATABASE_URL = inject("databaseUrl");
process.env.STRATA_LOG_REQUESTS = "0";

const db = testDb();
const ROOT = path.resolve(__dirname, "../..");
const METHODS = ["get", "post", "put", "patch", "delete"] as const;

/**
 * Resources every organisation reads alike: the bundled base manifests and the catalog of packages. A 2xx on these
 * is by design; the body is still checked for A's data.
 */
const SHARED = new Set(["GET /api/v1/base-manifests/{id}", "POST /api/v1/catalog/{entry}"]);

/** Bodies the schema sample does not make valid (a refinement, a digest's form), so the call reaches A's row. */
const BODIES: Record<string, () => unknown> = {
  "PATCH /api/v1/flavours/{id}": () => ({ description: "sweep" }),
  "POST /api/v1/flavours/{id}/imports": () => ({ reference: "127.0.0.1:5000/sweep/image:1", digest: `sha256:${"a".repeat(64)}` }),
  "POST /api/v1/flavours/{id}/revisions": () => ({ layers: [], message: "sweep", parentRevision: 1 }),
};

interface Operation {
  method: string;
  path: string;
  public: boolean;
  parameters: Array<{ name: string; in: string; required?: boolean; schema: Record<string, unknown> }>;
  body?: Record<string, unknown>;
}

type JsonSchema = { type?: string | string[]; format?: string; enum?: unknown[]; const?: unknown; minimum?: number; minLength?: number; minItems?: number; items?: JsonSchema; properties?: Record<string, JsonSchema>; required?: string[]; anyOf?: JsonSchema[]; default?: unknown };

let A: Actor;
let B: Actor;
let tokenB: string;
/** A's ids by what they are. */
const a = {} as {
  org: string;
  flavour: string;
  flavourName: string;
  revision: string;
  build: string;
  failedBuild: string;
  artefact: string;
  repositoryRevision: string;
  channel: string;
  release: string;
  registrationToken: string;
  device: string;
  deviceName: string;
  diskImage: string;
  apiToken: string;
  email: string;
  orgName: string;
  baseManifest: string;
  marker: string;
};

beforeAll(async () => {
  await ensureBundledBaseManifests(db);
  a.baseManifest = (await listBaseManifests(db)).find((b) => b.name === "strata-base")!.id;
  A = await makeActor(db);
  B = await makeActor(db);
  tokenB = (await createToken(db, B, { name: "sweep" })).token;
  a.org = A.org.id;
  a.orgName = A.org.name;
  a.email = A.user.email;
  a.marker = `a-secret-${crypto.randomBytes(6).toString("hex")}`;
  a.apiToken = (await createToken(db, A, { name: `${a.marker}-token` })).summary.id;

  a.flavourName = `sweep-${crypto.randomBytes(4).toString("hex")}`;
  const flavour = await createFlavour(db, A, { baseManifestId: a.baseManifest, name: a.flavourName, description: `${a.marker} flavour` });
  a.flavour = flavour.id;
  a.revision = flavour.latest.id;
  const build = await insertStandInBuild(db, A, flavour, "succeeded");
  a.build = build.id;
  a.failedBuild = (await insertStandInBuild(db, A, flavour, "failed")).id;
  await db.insert(buildLogs).values({ buildId: build.id, packageId: "layer/greeting", line: `${a.marker} log line` });

  // An artefact only A's build and repository hold (artefacts are content-addressed and shared by digest).
  a.artefact = `sha256:${crypto.randomBytes(32).toString("hex")}`;
  await db.insert(artefacts).values({ digest: a.artefact, size: 10, uncompressedSize: 20, fileCount: 1, compression: "gzip", deleted: [] });
  await db.insert(artefactFiles).values({ artefactDigest: a.artefact, path: `/opt/${a.marker}`, type: "file", size: 20, mode: 0o644 });
  await db.insert(buildPackages).values({ buildId: build.id, position: 0, packageId: "layer/greeting", version: "1", fromBase: false, status: "built", artefactDigest: a.artefact, cacheKey: "k-sweep" });
  const [revision] = await db
    .insert(repositoryRevisions)
    .values({
      orgId: A.org.id,
      flavourId: flavour.id,
      number: 1,
      buildId: build.id,
      index: JSON.stringify({ marker: a.marker }),
      indexDigest: `sha256:${crypto.randomBytes(32).toString("hex")}`,
      reference: `127.0.0.1:5000/${flavour.imageRepository}-repo:1`,
      manifestDigest: `sha256:${crypto.randomBytes(32).toString("hex")}`,
      packageCount: 1,
      fileCount: 1,
      size: 10,
      uncompressedSize: 20,
      debianPackageCount: 0,
    })
    .returning();
  a.repositoryRevision = revision.id;
  await db.insert(repositoryPackages).values({ revisionId: revision.id, position: 0, category: "layer", name: "greeting", version: "1", requires: [], fromBase: false, artefactDigest: a.artefact, cacheKey: "k-sweep", cached: false, definition: {} as never });

  const stable = (await listChannels(db, A, flavour.id)).channels.find((c) => c.name === "stable")!;
  a.channel = stable.id;
  a.release = (await requestRelease(db, A, stable.id, { buildId: build.id, version: "1.0.0", notes: `${a.marker} notes` })).id;
  a.registrationToken = (await createRegistrationToken(db, A, stable.id, { name: `${a.marker} line 1` })).summary.id;
  a.deviceName = `${a.marker}-kiosk`;
  a.device = (await db.insert(devices).values({ orgId: A.org.id, channelId: stable.id, name: a.deviceName, secretHash: crypto.randomBytes(32).toString("hex") }).returning())[0].id;
  const [image] = await db
    .insert(diskImages)
    .values({
      orgId: A.org.id,
      buildId: build.id,
      sizeBytes: 4 << 30,
      formats: ["raw"],
      layout: { size: 4 << 30, partitions: [] },
      status: "succeeded",
      files: [{ format: "raw", digest: `sha256:${crypto.randomBytes(32).toString("hex")}`, size: 4 << 30, mediaType: "application/octet-stream" }],
    })
    .returning();
  a.diskImage = image.id;
  await db.insert(diskImageLogs).values({ diskImageId: image.id, line: `${a.marker} disk line` });
});

afterAll(async () => {
  await liveBuildEvents().hub.stop();
  await removeTestOrgs(db);
  await closeTestDb();
  await getPool().end();
});

/** A's id for the resource a path segment names ("/api/v1/builds/{id}" → the build). */
function idOf(collection: string): string | undefined {
  const byCollection: Record<string, string> = {
    flavours: a.flavour,
    builds: a.build,
    channels: a.channel,
    devices: a.device,
    releases: a.release,
    "registration-tokens": a.registrationToken,
    "disk-images": a.diskImage,
    tokens: a.apiToken,
    orgs: a.org,
    "base-manifests": a.baseManifest,
  };
  return byCollection[collection];
}

/** A's value for a path parameter, or undefined when the sweep does not know one. */
function pathValue(apiPath: string, name: string, schema: JsonSchema): string | undefined {
  if (schema.enum) return String(schema.enum[0]);
  const segments = apiPath.split("/");
  const at = segments.indexOf(`{${name}}`);
  if (name === "id") return idOf(segments[at - 1]);
  const values: Record<string, string> = {
    number: "1",
    digest: a.artefact,
    category: "layer",
    name: "greeting",
    format: "raw",
    file: "greeting-layer-1.package.tar.zst",
  };
  return values[name];
}

/** A's id for a uuid named `name` in a query or body; other organisations' ids are what the sweep is about. */
function uuidFor(name: string): string {
  const byName: Record<string, string> = {
    channel: a.channel,
    channelId: a.channel,
    flavour: a.flavour,
    flavourId: a.flavour,
    build: a.build,
    buildId: a.build,
    release: a.release,
    releaseId: a.release,
    from: a.repositoryRevision,
    to: a.repositoryRevision,
    baseManifestId: a.baseManifest,
  };
  return byName[name] ?? a.build;
}

/** A value that satisfies `schema` as far as the sweep needs: ids are A's, numbers the smallest allowed. */
function sample(schema: JsonSchema, name: string): unknown {
  if (schema.anyOf) return sample(schema.anyOf.find((s) => s.type !== "null") ?? schema.anyOf[0], name);
  if (schema.const !== undefined) return schema.const;
  if (schema.enum) return schema.enum[0];
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== "null") : schema.type;
  if (schema.format === "uuid") return uuidFor(name);
  switch (type) {
    case "integer":
    case "number":
      return name === "rolloutPercent" || name === "percent" ? 50 : Math.max(1, schema.minimum ?? 1);
    case "boolean":
      return false;
    case "array":
      return Array.from({ length: schema.minItems ?? 0 }, () => sample(schema.items ?? {}, name));
    case "object": {
      const out: Record<string, unknown> = {};
      for (const [key, property] of Object.entries(schema.properties ?? {})) if (schema.required?.includes(key) || property.format === "uuid") out[key] = sample(property, key);
      return out;
    }
    case "string":
      return name === "version" ? "9.9.9" : `sweep-${name}`.padEnd(schema.minLength ?? 0, "x");
    default:
      return undefined;
  }
}

/** Every operation of the document, with the route file that serves it. */
function operations(): Operation[] {
  const doc = openApiDocument() as { paths: Record<string, Record<string, { security?: unknown[]; parameters?: Operation["parameters"]; requestBody?: { content?: Record<string, { schema?: Record<string, unknown> }> } }>> };
  const out: Operation[] = [];
  for (const [apiPath, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      out.push({
        method: method.toUpperCase(),
        path: apiPath,
        public: Array.isArray(op.security) && op.security.length === 0,
        parameters: op.parameters ?? [],
        body: op.requestBody?.content?.["application/json"]?.schema,
      });
    }
  }
  return out;
}

/** "/api/v1/builds/{id}/events" → app/api/v1/builds/[id]/events/route.ts */
const routeFile = (apiPath: string) => path.join(ROOT, "app", ...apiPath.split("/").filter(Boolean).map((s) => (s.startsWith("{") ? `[${s.slice(1, -1)}]` : s)), "route.ts");

/** Reads a body as text, at most `limit` bytes (a stream that was let through is cut off rather than followed). */
async function bodyText(res: Response, limit = 256 * 1024): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
    if (size >= limit || res.headers.get("content-type")?.startsWith("text/event-stream")) break;
  }
  await reader.cancel().catch(() => {});
  return Buffer.concat(chunks).toString("utf8");
}

interface Outcome {
  operation: string;
  status: number;
  leaked: string[];
}

describe("the cross-organisation sweep", () => {
  it("sees A's data when A asks (the sweep's detector is not blind)", async () => {
    const tokenA = (await createToken(db, A, { name: "control" })).token;
    for (const [file, id] of [
      ["app/api/v1/builds/[id]/logs/route.ts", a.build],
      ["app/api/v1/devices/[id]/route.ts", a.device],
      ["app/api/v1/disk-images/[id]/logs/route.ts", a.diskImage],
      ["app/api/v1/releases/[id]/route.ts", a.release],
    ] as const) {
      const mod = (await import(path.join(ROOT, file))) as { GET: (req: Request, ctx: { params: Promise<Record<string, string>> }) => Promise<Response> };
      const res = await mod.GET(new Request("https://localhost/api/v1/x", { headers: { authorization: `Bearer ${tokenA}` } }), { params: Promise.resolve({ id }) });
      expect(res.status, file).toBe(200);
      expect(await bodyText(res), file).toContain(a.marker);
    }
  });


  it("finds no operation that answers organisation B with organisation A's data", async () => {
    const outcomes: Outcome[] = [];
    const unfilled: string[] = [];
    const markers = () => ({
      "A's organisation id": a.org,
      "A's organisation name": a.orgName,
      "A's e-mail": a.email,
      "A's marker (names, notes, log lines, files)": a.marker,
      "A's flavour id": a.flavour,
      "A's flavour name": a.flavourName,
      "A's revision id": a.revision,
      "A's build id": a.build,
      "A's failed build id": a.failedBuild,
      "A's artefact": a.artefact,
      "A's repository revision id": a.repositoryRevision,
      "A's channel id": a.channel,
      "A's release id": a.release,
      "A's registration token id": a.registrationToken,
      "A's device id": a.device,
      "A's disk image id": a.diskImage,
      "A's API token id": a.apiToken,
    });

    for (const op of operations()) {
      const name = `${op.method} ${op.path}`;
      if (op.public) {
        unfilled.push(`${name} (public)`);
        continue;
      }
      const params: Record<string, string> = {};
      let filled = true;
      for (const p of op.parameters.filter((p) => p.in === "path")) {
        const value = pathValue(op.path, p.name, p.schema as JsonSchema);
        if (value === undefined) filled = false;
        else params[p.name] = value;
      }
      if (!filled) {
        unfilled.push(name);
        continue;
      }
      const url = new URL(`https://localhost${op.path.replace(/\{(\w+)\}/g, (_, p: string) => encodeURIComponent(params[p]))}`);
      for (const p of op.parameters.filter((p) => p.in === "query")) {
        const value = p.schema.format === "uuid" ? uuidFor(p.name) : p.required ? sample(p.schema as JsonSchema, p.name) : undefined;
        if (value !== undefined) url.searchParams.set(p.name, String(value));
      }
      const body = BODIES[name] ? JSON.stringify(BODIES[name]()) : op.body && op.method !== "GET" ? JSON.stringify(sample(op.body as JsonSchema, "body") ?? {}) : op.method === "GET" || op.method === "DELETE" ? undefined : "{}";
      const mod = (await import(routeFile(op.path))) as Record<string, (req: Request, ctx: { params: Promise<Record<string, string>> }) => Promise<Response>>;
      const handler = mod[op.method];
      expect(handler, `${routeFile(op.path)} exports ${op.method}`).toBeTypeOf("function");
      const res = await handler(
        new Request(url, { method: op.method, headers: { authorization: `Bearer ${tokenB}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) }, body }),
        { params: Promise.resolve(params) },
      );
      const text = await bodyText(res);
      // What B sent is B's to see again (an error may name the id it was given); anything else of A's is a leak.
      const sent = `${url.pathname}${url.search} ${body ?? ""}`;
      const leaked = Object.entries(markers())
        .filter(([, value]) => !sent.includes(value) && !sent.includes(encodeURIComponent(value)) && text.includes(value))
        .map(([what]) => what);
      outcomes.push({ operation: name, status: res.status, leaked });
    }

    const withIds = outcomes.filter((o) => /\{\w+\}/.test(o.operation) && !SHARED.has(o.operation));
    const answered = withIds.filter((o) => o.status >= 200 && o.status < 300).map((o) => `${o.operation} → ${o.status}`);
    const leaks = outcomes.filter((o) => o.leaked.length > 0).map((o) => `${o.operation} → ${o.status}: ${o.leaked.join(", ")}`);
    const server = outcomes.filter((o) => o.status >= 500).map((o) => `${o.operation} → ${o.status}`);
    const refusedInput = outcomes.filter((o) => o.status === 400 || o.status === 422).map((o) => `${o.operation} → ${o.status}`);
    console.log(
      `[sweep] ${outcomes.length} operations called as organisation B (${withIds.length} on A's ids); statuses: ${JSON.stringify(
        outcomes.reduce<Record<number, number>>((n, o) => ({ ...n, [o.status]: (n[o.status] ?? 0) + 1 }), {}),
      )}; refused on their input before reaching A's row: ${refusedInput.join(", ") || "none"}; not filled: ${unfilled.join(", ") || "none"}`,
    );
    expect(answered, "operations that answered B with 2xx on A's ids").toEqual([]);
    expect(leaks, "operations whose answer to B holds A's data").toEqual([]);
    expect(server, "operations that failed with a server error").toEqual([]);
    // Only public operations go unfilled: every other path parameter has an id of A's.
    expect(unfilled.filter((u) => !u.endsWith("(public)"))).toEqual([]);
    expect(outcomes.length).toBeGreaterThanOrEqual(60);
  });
});
