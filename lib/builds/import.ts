// Bringing back an image made by hand (docker run a build's image, change it, docker commit, docker push): check that
// it is one of the flavour's builds plus extra layers, then record it as an imported build — the parent's packages plus
// one artefact per extra layer — with the image copied, by the same digest, into the flavour's own repository.
//
// Everything is read by digest once the reference is resolved: a tag that moves between the check and the import is
// refused (409), never silently imported. Nothing is written (rows, artefacts, registry) until every check passed.
import zlib from "node:zlib";
import { and, desc, eq, isNotNull } from "drizzle-orm";
import { z } from "zod";
import type { Db, DbOrTx } from "../db";
import { artefacts, buildLogs, buildPackages, builds, orgs, repositoryRevisions, type Build } from "../db/schema";
import type { Actor } from "../auth/actor";
import { config } from "../config";
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from "../errors";
import { parseInput } from "../validation";
import { silentLogger, type Logger } from "../log";
import { getFlavourRow } from "../flavours/flavours";
import { recordAudit } from "../audit/audit";
import { parseImageReference } from "../agent/reference";
import { RegistryClient, RegistryNotFoundError, isRepositoryName, isTag } from "../registry/client";
import { ArtefactStore, artefactRoot } from "../builder/artefact-store";
import { registryLayerEntries, repackLayer, tarEntries, type Artefact } from "../builder/extract";
import { ArtefactEntriesLimitError } from "../builder/extract/repack";
import { recordArtefactFiles } from "../repository/files";
import { publishRevision, pushArtefacts, repositoryName } from "../repository/publish";
import { parseIndex, type RecordedPackage } from "../repository/index-doc";
import { importedDebianPackages } from "./import-dpkg";
import { applyLayer, classifyLayer, type ImportedLayerChanges, type RootfsPaths } from "./import-layers";

export const CheckImportInput = z
  .object({ reference: z.string().trim().min(1, "reference is required, e.g. registry.example.com/acme/web:hand").max(1000, "reference is at most 1000 characters") })
  .strict();

export const ImportInput = CheckImportInput.extend({
  digest: z.string().regex(/^sha256:[0-9a-f]{64}$/, "digest must be the sha256:… digest the check returned"),
}).strict();

export interface ImportDeps {
  /** The registry Strata reads and writes (REGISTRY_URL). */
  registry: RegistryClient;
  /** The same registry as others reach it (REGISTRY_PUBLIC_URL): references may name either. */
  publicRegistry: string;
  store: ArtefactStore;
  log?: Logger;
}

export function defaultImportDeps(): ImportDeps {
  return { registry: new RegistryClient(config.registryUrl), publicRegistry: config.registryPublicUrl, store: new ArtefactStore(artefactRoot(config.dataDir)) };
}

const INDEX_TYPES = new Set(["application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"]);
const IMAGE_MANIFEST_TYPES = new Set(["application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json"]);
const IMAGE_CONFIG_TYPES = new Set(["application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json"]);
const GZIP_LAYER_TYPES = new Set(["application/vnd.oci.image.layer.v1.tar+gzip", "application/vnd.docker.image.rootfs.diff.tar.gzip"]);
/** Builds of the flavour an image is compared with, newest first. */
const CANDIDATE_BUILDS = 50;

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

interface SourceRef {
  host: string;
  repository: string;
  tag: string | null;
  digest: string | null;
}

/** One layer of the image beyond its parent build's. */
export interface ExtraLayer {
  /** 1-based position in the image. */
  position: number;
  diffId: string;
  digest: string;
  size: number;
  mediaType: string;
  /** The history's `created_by`, e.g. the `docker commit` or Dockerfile step that made it. */
  createdBy: string | null;
}

/** What an import would bring in: the answer of the check, and what the import itself works from. */
export interface ImportPlan {
  reference: string;
  /** host/repository[:tag]@digest: what the imported build records as its source. */
  source: string;
  digest: string;
  mediaType: string;
  /** Compressed bytes of every layer. */
  size: number;
  parent: { id: string; version: string; layers: number };
  layers: ExtraLayer[];
  /** The version the import would get now (another import of the same parent may take it first). */
  version: string;
}

interface Inspected {
  plan: ImportPlan;
  src: SourceRef;
  bytes: Buffer;
  manifest: { config: Descriptor; layers: Descriptor[] };
  parent: Build;
}

const hasHost = (first: string) => first.includes(".") || first.includes(":") || first === "localhost";
const shortDigest = (d: string) => d.replace(/^sha256:/, "").slice(0, 12);

/** host/repository[:tag][@digest], checked: it must name this organisation's repository in Strata's registry. */
function parseSource(value: string, orgSlug: string, deps: ImportDeps): SourceRef {
  const example = `${deps.publicRegistry}/${orgSlug}/<name>:<tag>`;
  const first = value.split("/")[0];
  if (!value.includes("/") || !hasHost(first)) throw new ValidationError(`"${value}" names no registry host; write the reference as you pushed it, e.g. ${example}.`);
  let ref;
  try {
    ref = parseImageReference(value);
  } catch (err) {
    const message = (err as Error).message;
    throw new ValidationError(`${message.charAt(0).toUpperCase()}${message.slice(1)}; write it as ${example}.`);
  }
  if (!isRepositoryName(ref.repository)) throw new ValidationError(`"${ref.repository}" is not a valid repository name (lower-case letters, digits and . _ - separators, parts joined by /).`);
  if (ref.tag !== null && !isTag(ref.tag)) throw new ValidationError(`"${ref.tag}" is not a valid tag (letters, digits, _ . -, at most 128 characters).`);
  const hosts = [...new Set([deps.registry.endpoint.url, deps.publicRegistry])];
  if (!hosts.includes(ref.registry)) {
    throw new ValidationError(`Strata can read images only from its own registry (${hosts.join(" or ")}), not from ${ref.registry}. Push the image there as ${example} and import it from there.`);
  }
  if (!ref.repository.startsWith(`${orgSlug}/`)) {
    throw new ForbiddenError(`The repository ${ref.repository} is not your organisation's: Strata imports only from repositories under ${orgSlug}/, e.g. ${example}.`);
  }
  return { host: ref.registry, repository: ref.repository, tag: ref.tag, digest: ref.digest };
}

const formatSource = (src: SourceRef, digest: string) => `${src.host}/${src.repository}${src.tag ? `:${src.tag}` : ""}@${digest}`;

/** "host/org/flavour:r1.1" → "org/flavour". */
const repositoryOfImage = (imageRef: string) => imageRef.replace(/[:@][^/]*$/, "").split("/").slice(1).join("/");

async function readConfig(registry: RegistryClient, repo: string, digest: string, what: string): Promise<{ diffIds: string[]; history: Array<{ created_by?: string; empty_layer?: boolean }> }> {
  let config: { rootfs?: { diff_ids?: unknown }; history?: unknown };
  try {
    config = JSON.parse((await registry.getBlob(repo, digest)).toString("utf8")) as typeof config;
  } catch (err) {
    if (err instanceof RegistryNotFoundError) throw new ValidationError(`${what} names a config blob ${digest} that the registry does not have.`);
    if (err instanceof SyntaxError) throw new ValidationError(`The config of ${what} is not JSON.`);
    throw err;
  }
  const diffIds = config.rootfs?.diff_ids;
  if (!Array.isArray(diffIds) || !diffIds.every((d) => typeof d === "string")) throw new ValidationError(`The config of ${what} lists no layers (rootfs.diff_ids); it is not a container image.`);
  return { diffIds: diffIds as string[], history: Array.isArray(config.history) ? (config.history as Array<{ created_by?: string; empty_layer?: boolean }>) : [] };
}

/** The manifest of `src` by tag or digest, checked to be a single container image with gzip layers. */
async function readImage(registry: RegistryClient, src: SourceRef, reference: string) {
  let fetched;
  try {
    fetched = await registry.getManifest(src.repository, src.digest ?? src.tag!);
  } catch (err) {
    if (err instanceof RegistryNotFoundError) {
      throw new NotFoundError(`${reference} is not in the registry: it has no such ${src.digest ? "digest" : "tag"} in ${src.repository}. Push it first (docker push ${src.host}/${src.repository}${src.tag ? `:${src.tag}` : ""}).`);
    }
    throw err;
  }
  const manifest = fetched.manifest as { artifactType?: string; config?: Descriptor; layers?: Descriptor[]; manifests?: Array<{ digest: string; platform?: { os?: string; architecture?: string } }> };
  if (INDEX_TYPES.has(fetched.mediaType) || Array.isArray(manifest.manifests)) {
    const platforms = (manifest.manifests ?? []).map((m) => `${m.platform?.os ?? "?"}/${m.platform?.architecture ?? "?"} ${m.digest}`).join(", ");
    throw new ValidationError(`${reference} is a multi-platform index (manifest list), not one image. Import one platform's image by its digest${platforms ? `: ${platforms}` : ""}.`);
  }
  if (!IMAGE_MANIFEST_TYPES.has(fetched.mediaType) || !manifest.config || !Array.isArray(manifest.layers)) {
    throw new ValidationError(`${reference} is a ${fetched.mediaType || "manifest of unknown type"}, not a container image manifest.`);
  }
  if (manifest.artifactType || !IMAGE_CONFIG_TYPES.has(manifest.config.mediaType)) {
    throw new ValidationError(
      `${reference} is not a container image but an OCI artifact (${manifest.artifactType ?? manifest.config.mediaType}), e.g. a disk image or a repository revision. Import an OS image you made with docker commit and pushed.`,
    );
  }
  if (manifest.layers.length === 0) throw new ValidationError(`${reference} has no layers.`);
  return { fetched, manifest: manifest as { config: Descriptor; layers: Descriptor[] } };
}

/** Where two lists of diffIDs first differ (their common prefix length). */
function commonPrefix(a: readonly string[], b: readonly string[]): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

/** The next `<parent>-import.<K>` among the versions already taken. */
function nextImportVersion(parentVersion: string, taken: readonly string[]): string {
  const prefix = `${parentVersion}-import.`;
  const used = taken.filter((v) => v.startsWith(prefix)).map((v) => Number(v.slice(prefix.length))).filter(Number.isInteger);
  return `${prefix}${Math.max(0, ...used) + 1}`;
}

async function importVersionsOf(db: DbOrTx, parentId: string): Promise<string[]> {
  return (await db.select({ version: builds.version }).from(builds).where(eq(builds.parentBuildId, parentId))).map((r) => r.version);
}

/** Reads the image (by digest when `digest` is given) and finds the build it was made from. Writes nothing. */
async function inspect(db: DbOrTx, deps: ImportDeps, flavour: { id: string; name: string }, reference: string, src: SourceRef): Promise<Inspected> {
  const { registry } = deps;
  const { fetched, manifest } = await readImage(registry, src, reference);
  const digest = fetched.digest;
  const image = await readConfig(registry, src.repository, manifest.config.digest, reference);
  if (image.diffIds.length !== manifest.layers.length) {
    throw new ValidationError(`${reference} is inconsistent: its config lists ${image.diffIds.length} layers, its manifest ${manifest.layers.length}.`);
  }

  const [same] = await db
    .select({ version: builds.version })
    .from(builds)
    .where(and(eq(builds.flavourId, flavour.id), eq(builds.status, "succeeded"), eq(builds.imageDigest, digest)))
    .limit(1);
  if (same) throw new ValidationError(`${reference} is build ${same.version} itself (the same digest ${digest}): nothing to import. Change something in a container of it, docker commit and push it first.`);

  const candidates = await db
    .select()
    .from(builds)
    .where(and(eq(builds.flavourId, flavour.id), eq(builds.status, "succeeded"), eq(builds.kind, "build"), isNotNull(builds.imageDigest), isNotNull(builds.imageRef)))
    .orderBy(desc(builds.createdAt))
    .limit(CANDIDATE_BUILDS);
  if (candidates.length === 0) throw new ValidationError(`The flavour ${flavour.name} has no succeeded build yet; an image can only be imported onto one of its builds. Build it first.`);

  const read = await Promise.all(
    candidates.map(async (build) => {
      const repo = repositoryOfImage(build.imageRef!);
      try {
        const m = (await registry.getManifest(repo, build.imageDigest!)).manifest as { config: Descriptor };
        const { diffIds } = await readConfig(registry, repo, m.config.digest, `build ${build.version}`);
        return { build, diffIds, common: commonPrefix(diffIds, image.diffIds) };
      } catch (err) {
        // A build whose image was deleted from the registry cannot be a parent; the others still can.
        if (err instanceof RegistryNotFoundError || err instanceof ValidationError) return null;
        throw err;
      }
    }),
  );
  const compared = read.filter((c) => c !== null);
  if (compared.length === 0) throw new ValidationError(`None of the builds of ${flavour.name} is in the registry any more; build it again, then import.`);
  // Longest matching build first; among equals the newest (candidates are newest first and sort is stable).
  const matches = compared.filter((c) => c.common === c.diffIds.length).sort((a, b) => b.diffIds.length - a.diffIds.length);
  const best = matches[0];
  if (!best) {
    const closest = [...compared].sort((a, b) => b.common - a.common)[0];
    const at = closest.common;
    const theirs = image.diffIds[at];
    const ours = closest.diffIds[at];
    const where = theirs
      ? `its layer ${at + 1} (${theirs}) differs from layer ${at + 1} of the closest build, ${closest.build.version} (${ours}), which shares ${at} of its ${closest.diffIds.length} layers with it`
      : `it ends after layer ${at}, where the closest build, ${closest.build.version}, goes on with layer ${at + 1} (${ours}): it is older than any build (the plain base image?)`;
    throw new ValidationError(
      `${reference} is not made from a build of ${flavour.name}: ${where}. Start a container from one of the flavour's builds (docker run ${closest.build.imageRef}), change it, docker commit and push that.`,
      { firstDifferentLayer: at + 1, imageDiffId: theirs ?? null, closestBuild: { id: closest.build.id, version: closest.build.version, diffId: ours ?? null, sharedLayers: at } },
    );
  }
  if (best.diffIds.length === image.diffIds.length) {
    throw new ValidationError(`${reference} has exactly the layers of build ${best.build.version}: nothing to import. Change something in a container of it, docker commit and push it first.`);
  }

  const layered = image.history.filter((h) => !h.empty_layer);
  const historyFits = layered.length === image.diffIds.length;
  const layers: ExtraLayer[] = manifest.layers.slice(best.diffIds.length).map((layer, i) => {
    const index = best.diffIds.length + i;
    return { position: index + 1, diffId: image.diffIds[index], digest: layer.digest, size: layer.size, mediaType: layer.mediaType, createdBy: historyFits ? (layered[index].created_by ?? null) : null };
  });
  const unreadable = layers.find((l) => !GZIP_LAYER_TYPES.has(l.mediaType));
  if (unreadable) {
    throw new ValidationError(`Layer ${unreadable.position} of ${reference} is a ${unreadable.mediaType}; Strata reads gzip-compressed layers, which docker push writes.`);
  }
  return {
    src,
    bytes: fetched.bytes,
    manifest,
    parent: best.build,
    plan: {
      reference,
      source: formatSource(src, digest),
      digest,
      mediaType: fetched.mediaType,
      size: manifest.layers.reduce((sum, l) => sum + l.size, 0),
      parent: { id: best.build.id, version: best.build.version, layers: best.diffIds.length },
      layers,
      version: nextImportVersion(best.build.version, await importVersionsOf(db, best.build.id)),
    },
  };
}

async function flavourAndOrg(db: DbOrTx, actor: Actor, flavourId: string) {
  const flavour = await getFlavourRow(db, actor, flavourId);
  if (flavour.archivedAt) throw new ConflictError("This flavour is archived; restore it before importing into it.");
  const [org] = await db.select({ slug: orgs.slug }).from(orgs).where(eq(orgs.id, flavour.orgId));
  return { flavour, orgSlug: org.slug };
}

/** Where a maintainer pushes an image made by hand for this flavour, as the import form suggests it. */
export function importReferenceExample(flavour: { imageRepository: string }): string {
  return `${config.registryPublicUrl}/${flavour.imageRepository}:hand`;
}

/** What importing `reference` would bring in: its digest, the build it was made from, and the extra layers. */
export async function checkImport(db: DbOrTx, actor: Actor, flavourId: string, input: unknown, deps: ImportDeps = defaultImportDeps()): Promise<ImportPlan> {
  const { reference } = parseInput(CheckImportInput, input);
  const { flavour, orgSlug } = await flavourAndOrg(db, actor, flavourId);
  const src = parseSource(reference, orgSlug, deps);
  return (await inspect(db, deps, flavour, reference, src)).plan;
}

/** The paths of a stack of layers (the parent build's filesystem), read from the registry: only tar headers are kept. */
async function lowerPaths(registry: RegistryClient, repo: string, layers: readonly Descriptor[]): Promise<RootfsPaths> {
  const paths: RootfsPaths = new Map();
  for (const layer of layers) {
    const blob = await registry.openBlob(repo, layer.digest);
    const gunzip = zlib.createGunzip({ chunkSize: 256 * 1024 });
    blob.on("error", (err) => gunzip.destroy(err));
    const entries: Array<{ name: string; type: string }> = [];
    try {
      for await (const { header } of tarEntries(blob.pipe(gunzip))) entries.push({ name: header.name, type: header.type });
    } finally {
      blob.destroy();
    }
    applyLayer(paths, entries);
  }
  return paths;
}

/**
 * Imports exactly `digest` of `reference` (the digest the check showed): a tag that names another image by now is a
 * 409. Returns the imported build, succeeded.
 */
export async function importImage(db: Db, actor: Actor, flavourId: string, input: unknown, deps: ImportDeps = defaultImportDeps()): Promise<Build> {
  const { reference, digest } = parseInput(ImportInput, input);
  const log = deps.log ?? silentLogger;
  const { registry } = deps;
  const { flavour, orgSlug } = await flavourAndOrg(db, actor, flavourId);
  const named = parseSource(reference, orgSlug, deps);
  if (named.digest && named.digest !== digest) throw new ConflictError(`${reference} names ${named.digest}, not ${digest} that was checked. Check it again.`);
  if (!named.digest) {
    const now = await registry.headManifest(named.repository, named.tag!);
    if (!now) throw new NotFoundError(`${reference} is not in the registry any more. Push it again and check it again.`);
    if (now.digest !== digest) throw new ConflictError(`${reference} moved since it was checked: it names ${now.digest} now, not ${digest}. Check it again to see what it holds now.`);
  }
  // From here on only the digest is read: the tag may move again, the content cannot.
  const { plan, manifest, bytes, parent } = await inspect(db, deps, flavour, reference, { ...named, digest });
  const started = new Date();
  const lines: string[] = [`imported by ${actor.user.name || actor.user.email} from ${plan.source}`, `made from build ${parent.version}: its ${plan.parent.layers} layers match the image's first ${plan.parent.layers}`];

  // The extra layers become artefacts like any package's; the parent's filesystem tells added from changed.
  const below = await lowerPaths(registry, named.repository, manifest.layers.slice(0, plan.parent.layers));
  const extracted: Array<{ layer: ExtraLayer; artefact: Artefact; changes: ImportedLayerChanges; ms: number }> = [];
  for (const layer of plan.layers) {
    const t0 = Date.now();
    const artefact = await repackLayer(registryLayerEntries(await registry.openBlob(named.repository, layer.digest), layer.diffId), {
      filter: {},
      store: deps.store,
      packageId: `import/layer-${layer.position}`,
    }).catch((err: unknown) => {
      // Too many files in a hand-made layer is the image's fault, not the server's: a 422 with the limit's message.
      if (err instanceof ArtefactEntriesLimitError) throw new ValidationError(err.message);
      throw err;
    });
    const changes: ImportedLayerChanges = { identical: false, ...classifyLayer(below, artefact), layer: { diffId: layer.diffId, digest: layer.digest, size: layer.size, createdBy: layer.createdBy } };
    extracted.push({ layer, artefact, changes, ms: Date.now() - t0 });
    lines.push(
      `layer ${layer.position} (${shortDigest(layer.diffId)}${layer.createdBy ? `, ${layer.createdBy.slice(0, 200)}` : ""}): ${changes.added} added, ${changes.changed} changed, ${changes.removed} removed; artefact ${artefact.digest} (${artefact.fileCount} files, ${artefact.size} bytes)`,
    );
    for (const r of artefact.rejected.slice(0, 20)) lines.push(`layer ${layer.position}: left out of the artefact ${r.name} (${r.reason})`);
  }

  // The image's blobs into the flavour's repository (mounted: no bytes move); the tag is written with the row.
  // The flavour's own repository (kept through renames), not one derived from its current name.
  const flavourRepo = flavour.imageRepository;
  await Promise.all([...manifest.layers, manifest.config].map((blob) => registry.copyBlob(named.repository, flavourRepo, blob.digest)));
  const [parentRevision] = await db.select().from(repositoryRevisions).where(eq(repositoryRevisions.buildId, parent.id));
  const repoName = repositoryName(flavour.imageRepository);
  if (parentRevision) await pushArtefacts({ db, registry, store: deps.store, repository: repoName, artefacts: extracted.map((e) => e.artefact), log });
  // The parent's Debian packages, or the image's own when a layer changed dpkg's status (an apt-get install by hand).
  const debian = parentRevision
    ? await importedDebianPackages(
        registry,
        named.repository,
        extracted.map((e) => ({ digest: e.layer.digest, artefact: e.artefact })),
        parseIndex(parentRevision.index).debianPackages,
      )
    : null;

  return db.transaction(async (tx) => {
    // The parent's row lock numbers its imports: two imports of one parent wait for each other here.
    // (No key update: releases and other rows that reference the parent need not wait for it.)
    await tx.select({ id: builds.id }).from(builds).where(eq(builds.id, parent.id)).for("no key update");
    // The same image imported twice at once (a double click): the second waited for the lock and finds the first.
    const [twin] = await tx.select({ version: builds.version }).from(builds).where(and(eq(builds.flavourId, flavour.id), eq(builds.status, "succeeded"), eq(builds.imageDigest, plan.digest)));
    if (twin) throw new ConflictError(`${reference} was imported a moment ago as build ${twin.version}.`);
    const version = nextImportVersion(parent.version, await importVersionsOf(tx, parent.id));
    const parentRows = await tx.select().from(buildPackages).where(eq(buildPackages.buildId, parent.id));
    const finished = new Date();
    const publicRef = `${deps.publicRegistry}/${flavourRepo}:${version}`;
    const [build] = await tx
      .insert(builds)
      .values({
        orgId: flavour.orgId,
        flavourId: flavour.id,
        revisionId: parent.revisionId,
        revisionNumber: parent.revisionNumber,
        version,
        kind: "import",
        status: "succeeded",
        parentBuildId: parent.id,
        sourceReference: plan.source,
        totalPackages: parentRows.length + extracted.length,
        donePackages: parentRows.length + extracted.length,
        imageRef: publicRef,
        imageDigest: plan.digest,
        imageSize: plan.size,
        startedBy: actor.user.id,
        createdAt: started,
        startedAt: started,
        finishedAt: finished,
      })
      .returning();
    if (parentRows.length) await tx.insert(buildPackages).values(parentRows.map((row) => ({ ...row, buildId: build.id })));
    for (const { artefact } of extracted) {
      const inserted = await tx
        .insert(artefacts)
        .values({ digest: artefact.digest, size: artefact.size, uncompressedSize: artefact.uncompressedSize, fileCount: artefact.fileCount, compression: artefact.compression, deleted: artefact.deleted })
        .onConflictDoNothing()
        .returning({ digest: artefacts.digest });
      if (inserted.length) await recordArtefactFiles(tx, artefact.digest, artefact.files);
    }
    await tx.insert(buildPackages).values(
      extracted.map(({ layer, artefact, changes, ms }, i) => ({
        buildId: build.id,
        position: parentRows.length + i,
        packageId: `import/layer-${i + 1}`,
        version: shortDigest(layer.diffId),
        fromBase: false,
        status: "imported" as const,
        cached: false,
        artefactDigest: artefact.digest,
        durationMs: ms,
        changes,
        startedAt: started,
        finishedAt: finished,
      })),
    );

    // The same manifest bytes under the new tag: the digest devices and channels pull stays the pushed one.
    const written = await registry.putManifest(flavourRepo, version, bytes, plan.mediaType);
    if (written !== plan.digest) throw new Error(`copying ${plan.source} into ${flavourRepo}:${version} gave ${written}, not ${plan.digest}`);
    lines.push(`copied into ${publicRef}@${plan.digest} (${plan.layers.length} extra layer${plan.layers.length === 1 ? "" : "s"}, ${plan.size} bytes in all)`);

    if (parentRevision && debian) {
      const parentIndex = parseIndex(parentRevision.index);
      const packages: RecordedPackage[] = [
        ...parentIndex.packages.map((p) => ({ definition: p.definition, fromBase: p.fromBase, cacheKey: p.cacheKey, cached: p.cached, buildMs: p.buildMs, artefact: p.artefact })),
        ...extracted.map(({ layer, artefact, ms }, i) => ({
          definition: {
            category: "import",
            name: `layer-${i + 1}`,
            version: shortDigest(layer.diffId),
            description: `Layer ${layer.position} of ${plan.source}${layer.createdBy ? `: ${layer.createdBy.slice(0, 1000)}` : ""}`,
            requires: [],
            steps: [],
            files: [],
            includes: [],
            excludes: [],
          },
          fromBase: false,
          cacheKey: layer.diffId.replace(/^sha256:/, ""),
          cached: false,
          buildMs: ms,
          artefact: { digest: artefact.digest, size: artefact.size, uncompressedSize: artefact.uncompressedSize, compression: artefact.compression, fileCount: artefact.fileCount, deleted: artefact.deleted },
        })),
      ];
      const revision = await publishRevision(tx, {
        registry,
        publicRegistry: deps.publicRegistry,
        orgId: flavour.orgId,
        org: orgSlug,
        flavourId: flavour.id,
        flavour: flavour.name,
        baseManifest: parentIndex.baseManifest,
        build: { id: build.id, version, flavourRevision: parent.revisionNumber, image: { reference: publicRef, digest: plan.digest, size: plan.size } },
        packages,
        debianPackages: debian.packages,
        log,
      });
      const listed = debian.source === "parent" ? "the parent's Debian packages: no layer changed dpkg's status" : "the Debian packages of the image's own dpkg status";
      lines.push(`published repository revision ${revision.number}: ${revision.reference} (${debian.packages.length} Debian packages, ${listed})`);
    } else {
      lines.push(`no repository revision: the parent build ${parent.version} has none`);
    }
    await tx.insert(buildLogs).values(lines.map((line) => ({ buildId: build.id, packageId: null, line: `[strata] ${line}` })));
    await recordAudit(tx, actor, { orgId: flavour.orgId, action: "build.import", subject: build.id, after: { version, source: plan.source, parent: parent.version } });
    log.info("imported image", { build: build.id, version, source: plan.source });
    return build;
  });
}
