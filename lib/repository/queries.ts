// What users ask of repositories: revisions, packages, file lists and search (served from the file index in
// PostgreSQL, in pages), diffs, and who may download an artefact. Every read is scoped to the actor's organisation.
import { and, asc, desc, eq, gt, inArray, lt, ne, sql } from "drizzle-orm";
import { z } from "zod";
import type { DbOrTx } from "../db";
import { artefactFiles, artefacts, buildPackages, builds, flavours, orgs, repositoryDebianPackages, repositoryPackages, repositoryRevisions, type RepositoryRevisionRow } from "../db/schema";
import type { Actor } from "../auth/actor";
import { orgScope } from "../auth/roles";
import { BadRequestError, NotFoundError } from "../errors";
import { cursorIntSchema, decodeCursor, pageLimit, toPage } from "../api/cursor";
import { getFlavourRow } from "../flavours/flavours";
import { parseIndex } from "./index-doc";
import { diffDebianPackages, diffFiles, diffPackages } from "./diff";
import type { RepositoryFile, RepositoryIndex } from "./types";

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const NAME = /^[a-z0-9][a-z0-9-]{0,63}$/;

/** A digest from a URL: anything but "sha256:<64 hex>" is a 400 that says what a digest looks like. */
export function parseDigest(value: string): string {
  if (!DIGEST.test(value)) throw new BadRequestError('An artefact digest is "sha256:" followed by 64 lowercase hex digits.');
  return value;
}

export interface RevisionSummary {
  id: string;
  number: number;
  createdAt: Date;
  buildId: string;
  version: string;
  imageRef: string | null;
  imageDigest: string | null;
  reference: string;
  manifestDigest: string;
  indexDigest: string;
  packageCount: number;
  fileCount: number;
  size: number;
  uncompressedSize: number;
  debianPackageCount: number;
}

const summaryColumns = {
  id: repositoryRevisions.id,
  number: repositoryRevisions.number,
  createdAt: repositoryRevisions.createdAt,
  buildId: repositoryRevisions.buildId,
  version: builds.version,
  imageRef: builds.imageRef,
  imageDigest: builds.imageDigest,
  reference: repositoryRevisions.reference,
  manifestDigest: repositoryRevisions.manifestDigest,
  indexDigest: repositoryRevisions.indexDigest,
  packageCount: repositoryRevisions.packageCount,
  fileCount: repositoryRevisions.fileCount,
  size: repositoryRevisions.size,
  uncompressedSize: repositoryRevisions.uncompressedSize,
  debianPackageCount: repositoryRevisions.debianPackageCount,
};

export interface ListRepositoryRevisionsOptions {
  cursor?: string;
  limit?: number;
}

/**
 * The revisions of a flavour's repository, newest first, a page at a time (one more per successful build, so a busy
 * flavour has hundreds). Keyed on the revision number, unique per flavour, through repository_revisions_flavour_number_idx.
 */
export async function listRepositoryRevisions(db: DbOrTx, actor: Actor, flavourId: string, opts: ListRepositoryRevisionsOptions = {}): Promise<{ revisions: RevisionSummary[]; next: string | null }> {
  const limit = pageLimit(opts.limit);
  const after = decodeCursor("repository-revisions", opts.cursor, z.tuple([cursorIntSchema]));
  const flavour = await getFlavourRow(db, actor, flavourId);
  const rows = await db
    .select(summaryColumns)
    .from(repositoryRevisions)
    .innerJoin(builds, eq(builds.id, repositoryRevisions.buildId))
    .where(and(eq(repositoryRevisions.flavourId, flavour.id), after ? lt(repositoryRevisions.number, after[0]) : undefined))
    .orderBy(desc(repositoryRevisions.number))
    .limit(limit + 1);
  const { items, next } = toPage(rows, limit, "repository-revisions", (r) => [r.number]);
  return { revisions: items, next };
}

async function revisionRow(db: DbOrTx, actor: Actor, flavourId: string, number: number): Promise<{ flavour: { id: string; name: string; orgId: string }; revision: RepositoryRevisionRow }> {
  const flavour = await getFlavourRow(db, actor, flavourId);
  const [revision] = await db
    .select()
    .from(repositoryRevisions)
    .where(and(eq(repositoryRevisions.flavourId, flavour.id), eq(repositoryRevisions.number, number)));
  if (!revision) throw new NotFoundError(`No repository revision ${number} of this flavour.`);
  return { flavour, revision };
}

export interface RevisionPackage {
  position: number;
  category: string;
  name: string;
  version: string;
  requires: string[];
  fromBase: boolean;
  cacheKey: string;
  cached: boolean;
  buildMs: number | null;
  artefact: { digest: string; size: number; uncompressedSize: number; compression: string; fileCount: number };
}

const packageColumns = {
  position: repositoryPackages.position,
  category: repositoryPackages.category,
  name: repositoryPackages.name,
  version: repositoryPackages.version,
  requires: repositoryPackages.requires,
  fromBase: repositoryPackages.fromBase,
  cacheKey: repositoryPackages.cacheKey,
  cached: repositoryPackages.cached,
  buildMs: repositoryPackages.buildMs,
  artefact: {
    digest: artefacts.digest,
    size: artefacts.size,
    uncompressedSize: artefacts.uncompressedSize,
    compression: artefacts.compression,
    fileCount: artefacts.fileCount,
  },
};

/** One revision: its summary, packages in build order and Debian packages by name. */
export async function getRepositoryRevision(db: DbOrTx, actor: Actor, flavourId: string, number: number) {
  const { flavour, revision } = await revisionRow(db, actor, flavourId, number);
  const [summary] = await db.select(summaryColumns).from(repositoryRevisions).innerJoin(builds, eq(builds.id, repositoryRevisions.buildId)).where(eq(repositoryRevisions.id, revision.id));
  const packages: RevisionPackage[] = await db
    .select(packageColumns)
    .from(repositoryPackages)
    .innerJoin(artefacts, eq(artefacts.digest, repositoryPackages.artefactDigest))
    .where(eq(repositoryPackages.revisionId, revision.id))
    .orderBy(asc(repositoryPackages.position));
  const debianPackages = await db
    .select({
      name: repositoryDebianPackages.name,
      architecture: repositoryDebianPackages.architecture,
      version: repositoryDebianPackages.version,
      source: repositoryDebianPackages.source,
      sourceVersion: repositoryDebianPackages.sourceVersion,
      license: repositoryDebianPackages.license,
      homepage: repositoryDebianPackages.homepage,
    })
    .from(repositoryDebianPackages)
    .where(eq(repositoryDebianPackages.revisionId, revision.id))
    .orderBy(asc(repositoryDebianPackages.name), asc(repositoryDebianPackages.architecture));
  const [{ previous }] = await db
    .select({ previous: sql<number | null>`max(${repositoryRevisions.number})` })
    .from(repositoryRevisions)
    .where(and(eq(repositoryRevisions.flavourId, flavour.id), sql`${repositoryRevisions.number} < ${number}`));
  return { flavour: { id: flavour.id, name: flavour.name }, revision: summary, previous: previous ?? null, packages, debianPackages };
}

/** The stored index bytes of a revision (their sha256 is the index digest) and the parsed index. */
export async function getRepositoryIndex(db: DbOrTx, actor: Actor, flavourId: string, number: number): Promise<{ bytes: Buffer; digest: string; index: RepositoryIndex; revision: RepositoryRevisionRow }> {
  const { revision } = await revisionRow(db, actor, flavourId, number);
  return { bytes: Buffer.from(revision.index, "utf8"), digest: revision.indexDigest, index: parseIndex(revision.index), revision };
}

function packageName(category: string, name: string) {
  if (!NAME.test(category) || !NAME.test(name)) throw new NotFoundError(`No package ${category}/${name} in this revision.`);
}

/** One package of a revision, with its definition, the packages it requires and those that require it. */
export async function getRepositoryPackage(db: DbOrTx, actor: Actor, flavourId: string, number: number, category: string, name: string) {
  packageName(category, name);
  const { flavour, revision } = await revisionRow(db, actor, flavourId, number);
  const rows = await db
    .select({ ...packageColumns, definition: repositoryPackages.definition, deleted: artefacts.deleted })
    .from(repositoryPackages)
    .innerJoin(artefacts, eq(artefacts.digest, repositoryPackages.artefactDigest))
    .where(eq(repositoryPackages.revisionId, revision.id))
    .orderBy(asc(repositoryPackages.position));
  const pkg = rows.find((r) => r.category === category && r.name === name);
  if (!pkg) throw new NotFoundError(`No package ${category}/${name} in repository revision ${number}.`);
  const id = `${category}/${name}`;
  const requiredBy = rows.filter((r) => r.requires.includes(id)).map((r) => `${r.category}/${r.name}`);
  return {
    flavour: { id: flavour.id, name: flavour.name },
    revision: { id: revision.id, number: revision.number, reference: revision.reference, createdAt: revision.createdAt },
    package: pkg,
    requiredBy,
    /** Every package of the revision with its requires, for the requires graph. */
    graph: rows.map((r) => ({ id: `${r.category}/${r.name}`, requires: r.requires })),
  };
}

export const FileListQuery = z
  .object({
    /** Only paths containing this text (case-insensitive). */
    q: z.string().max(4096).optional(),
    /** The last path of the previous page. */
    after: z.string().max(4096).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(200),
  })
  .strict();
export type FileListQuery = z.input<typeof FileListQuery>;

/** `%text%` for ILIKE with the pattern characters taken literally. */
const containing = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

const fileColumns = {
  path: artefactFiles.path,
  type: artefactFiles.type,
  size: artefactFiles.size,
  mode: artefactFiles.mode,
  target: artefactFiles.target,
  sha256: artefactFiles.sha256,
};

/** A package's files in path order, a page at a time (keyset on the path, so page 500 costs what page 1 does). */
export async function listPackageFiles(db: DbOrTx, actor: Actor, flavourId: string, number: number, category: string, name: string, query: FileListQuery) {
  packageName(category, name);
  const { limit, after, q } = FileListQuery.parse(query);
  const { revision } = await revisionRow(db, actor, flavourId, number);
  const [pkg] = await db
    .select({ digest: repositoryPackages.artefactDigest })
    .from(repositoryPackages)
    .where(and(eq(repositoryPackages.revisionId, revision.id), eq(repositoryPackages.category, category), eq(repositoryPackages.name, name)));
  if (!pkg) throw new NotFoundError(`No package ${category}/${name} in repository revision ${number}.`);
  const match = q ? sql`${artefactFiles.path} ilike ${containing(q)}` : undefined;
  const files: RepositoryFile[] = await db
    .select(fileColumns)
    .from(artefactFiles)
    .where(and(eq(artefactFiles.artefactDigest, pkg.digest), after !== undefined ? gt(artefactFiles.path, after) : undefined, match))
    .orderBy(asc(artefactFiles.path))
    .limit(limit + 1);
  const [{ total }] = await db
    .select({ total: sql<number>`count(*)::int` })
    .from(artefactFiles)
    .where(and(eq(artefactFiles.artefactDigest, pkg.digest), match));
  const more = files.length > limit;
  const page = more ? files.slice(0, limit) : files;
  return { files: page, total, next: more ? page[page.length - 1].path : null };
}

export const FileSearchQuery = z
  .object({
    q: z.string().min(1, "Type part of a path to search for, e.g. /usr/bin/hello.").max(4096),
    after: z.string().max(8192).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
  })
  .strict();
export type FileSearchQuery = z.input<typeof FileSearchQuery>;

/** The keyset cursor of a search page: the last row's rank, path and artefact, opaque to clients. */
const searchCursor = {
  encode: (rank: number, path: string, digest: string) => Buffer.from(JSON.stringify([rank, path, digest])).toString("base64url"),
  decode(value: string): [number, string, string] {
    try {
      const [rank, path, digest] = JSON.parse(Buffer.from(value, "base64url").toString("utf8")) as unknown[];
      if (Number.isInteger(rank) && typeof path === "string" && typeof digest === "string") return [rank as number, path, digest];
    } catch {
      // fall through
    }
    throw new BadRequestError("`after` must be the `next` value of the previous page.");
  },
};

/**
 * "Which package ships this path?" across every file of a revision: paths containing `q` (case-insensitive), the
 * path itself first, then files of that name, then the rest in path order, each with the package that ships it.
 * The revision's artefact digests are looked up first, so only their files are read, however many other artefacts the
 * table holds.
 */
export async function searchRevisionFiles(db: DbOrTx, actor: Actor, flavourId: string, number: number, query: FileSearchQuery) {
  const parsed = FileSearchQuery.safeParse(query);
  if (!parsed.success) throw new BadRequestError(parsed.error.issues[0]?.message ?? "Invalid search.");
  const { q, limit, after } = parsed.data;
  const cursor = after !== undefined ? searchCursor.decode(after) : null;
  const { revision } = await revisionRow(db, actor, flavourId, number);
  const packages = await db
    .select({ digest: repositoryPackages.artefactDigest, category: repositoryPackages.category, name: repositoryPackages.name, version: repositoryPackages.version })
    .from(repositoryPackages)
    .where(eq(repositoryPackages.revisionId, revision.id))
    .orderBy(asc(repositoryPackages.position));
  // Two packages may have the same artefact (both empty, say): a file of it is shipped by each.
  const shippers = new Map<string, Array<{ category: string; name: string; version: string }>>();
  for (const { digest, ...pkg } of packages) shippers.set(digest, [...(shippers.get(digest) ?? []), pkg]);
  if (shippers.size === 0) return { matches: [], next: null };

  const basename = q.replace(/^.*\//, "");
  const literal = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);
  const named = basename ? sql`when f.path like ${`%/${literal(basename)}`} then 1` : sql``;
  const rank = sql`(case when f.path = ${q} then 0 ${named} else 2 end)`;
  // One query an artefact, run side by side, each for one digest: the planner then sizes each from its own
  // statistics and reads only that artefact's rows (the primary key), or one pass over the table when the artefact is
  // most of it. A single join over all digests (or a LATERAL) gets one plan for all of them and, once the table's
  // statistics exist, re-scanned the whole table for each artefact: 230 ms on 54,000 files instead of 30.
  const perArtefact = await Promise.all(
    [...shippers.keys()].map(async (digest) => {
      const result = await db.execute(sql`
        select f.path, f.type, f.size, f.mode, f.target, f.sha256, ${rank} as rank
        from artefact_files f
        where f.artefact_digest = ${digest} and f.path ilike ${containing(q)}
          ${cursor ? sql`and (${rank}, f.path collate "C", f.artefact_digest collate "C") > (${cursor[0]}::int, ${cursor[1]}::text, ${cursor[2]}::text)` : sql``}
        order by rank, f.path collate "C"
        limit ${limit + 1}`);
      return (result.rows as Array<Record<string, unknown>>).map((r) => ({
        path: r.path as string,
        type: r.type as RepositoryFile["type"],
        size: Number(r.size),
        mode: Number(r.mode),
        target: (r.target as string | null) ?? null,
        sha256: (r.sha256 as string | null) ?? null,
        digest,
        rank: Number(r.rank),
      }));
    }),
  );
  // Byte order of paths, as the queries sort them (collate "C"): the keyset needs one order, whatever the database's.
  const before = (a: { rank: number; path: string; digest: string }, b: typeof a) =>
    a.rank - b.rank || Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)) || (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0);
  const rows = perArtefact.flat().sort(before).slice(0, limit + 1);
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  const last = page[page.length - 1];
  return {
    matches: page.flatMap(({ rank: _rank, digest, ...file }) => (shippers.get(digest) ?? []).map((pkg) => ({ ...file, package: pkg }))),
    next: more ? searchCursor.encode(last.rank, last.path, last.digest) : null,
  };
}

/** How many entries of one list a diff returns per package; the counts are always complete. */
const DIFF_FILES_SHOWN = 2_000;

async function filesOf(db: DbOrTx, digest: string): Promise<RepositoryFile[]> {
  return db.select(fileColumns).from(artefactFiles).where(eq(artefactFiles.artefactDigest, digest)).orderBy(asc(artefactFiles.path));
}

async function diffIndexes(db: DbOrTx, from: RepositoryRevisionRow, to: RepositoryRevisionRow) {
  const a = parseIndex(from.index);
  const b = parseIndex(to.index);
  const packages = diffPackages(a.packages, b.packages);
  const changed = await Promise.all(
    packages.changed.map(async (change) => {
      if (change.sameArtefact) return { ...change, files: null };
      const files = diffFiles(await filesOf(db, change.from.artefact.digest), await filesOf(db, change.to.artefact.digest));
      const cut = <T>(list: T[]) => list.slice(0, DIFF_FILES_SHOWN);
      return {
        ...change,
        files: {
          counts: { added: files.added.length, removed: files.removed.length, changed: files.changed.length },
          truncated: Math.max(files.added.length, files.removed.length, files.changed.length) > DIFF_FILES_SHOWN,
          added: cut(files.added),
          removed: cut(files.removed),
          changed: cut(files.changed),
          sizeDelta: files.sizeDelta,
        },
      };
    }),
  );
  const summary = (r: RepositoryRevisionRow, index: RepositoryIndex) => ({ id: r.id, number: r.number, createdAt: r.createdAt, version: index.build.version, size: r.size, packageCount: r.packageCount });
  return {
    from: summary(from, a),
    to: summary(to, b),
    packages: { ...packages, changed },
    debianPackages: diffDebianPackages(a.debianPackages, b.debianPackages),
  };
}

/** The diff of two revisions of one flavour's repository, by number. */
export async function diffFlavourRevisions(db: DbOrTx, actor: Actor, flavourId: string, from: number, to: number) {
  const { revision: a } = await revisionRow(db, actor, flavourId, from);
  const { revision: b } = await revisionRow(db, actor, flavourId, to);
  return diffIndexes(db, a, b);
}

const uuid = z.uuid();

/** The diff of two revisions by id: both must belong to one flavour. */
export async function diffRevisionsById(db: DbOrTx, actor: Actor, fromId: string, toId: string) {
  for (const [name, id] of [["from", fromId], ["to", toId]] as const) {
    if (!uuid.safeParse(id).success) throw new BadRequestError(`${name} must be the id of a repository revision.`);
  }
  const rows = await db
    .select()
    .from(repositoryRevisions)
    .where(and(inArray(repositoryRevisions.id, [fromId, toId]), orgScope(actor, repositoryRevisions.orgId)));
  const a = rows.find((r) => r.id === fromId);
  const b = rows.find((r) => r.id === toId);
  if (!a || !b) throw new NotFoundError(`No repository revision ${!a ? fromId : toId}.`);
  if (a.flavourId !== b.flavourId) throw new BadRequestError("A diff compares two revisions of one flavour's repository; these belong to different flavours.");
  return diffIndexes(db, a, b);
}

export interface ArtefactDownload {
  digest: string;
  size: number;
  compression: string;
  /** A registry repository holding the blob, when it was published. */
  registryRepository: string | null;
}

/**
 * An artefact the actor may download: one in a revision or build of their organisation (admins: any). Another
 * organisation's artefact is a 404, like one that does not exist, so digests of others stay secret.
 */
export async function findArtefactForDownload(db: DbOrTx, actor: Actor, rawDigest: string): Promise<ArtefactDownload> {
  const digest = parseDigest(rawDigest);
  const [row] = await db
    .select({ digest: artefacts.digest, size: artefacts.size, compression: artefacts.compression, registryRepository: artefacts.registryRepository })
    .from(artefacts)
    .where(eq(artefacts.digest, digest));
  if (!row) throw new NotFoundError(`No artefact ${digest}.`);
  if (orgScope(actor, builds.orgId) !== undefined) {
    const [inRevision] = await db
      .select({ one: sql`1` })
      .from(repositoryPackages)
      .innerJoin(repositoryRevisions, eq(repositoryRevisions.id, repositoryPackages.revisionId))
      .where(and(eq(repositoryPackages.artefactDigest, digest), eq(repositoryRevisions.orgId, actor.org.id)))
      .limit(1);
    const [inBuild] = inRevision
      ? [inRevision]
      : await db
          .select({ one: sql`1` })
          .from(buildPackages)
          .innerJoin(builds, eq(builds.id, buildPackages.buildId))
          .where(and(eq(buildPackages.artefactDigest, digest), eq(builds.orgId, actor.org.id)))
          .limit(1);
    if (!inBuild) throw new NotFoundError(`No artefact ${digest}.`);
  }
  return row;
}

/** The organisation slug and flavour name behind a flavour id, for references and file names. */
export async function flavourNames(db: DbOrTx, flavourId: string) {
  const [row] = await db.select({ org: orgs.slug, flavour: flavours.name }).from(flavours).innerJoin(orgs, eq(orgs.id, flavours.orgId)).where(eq(flavours.id, flavourId));
  return row;
}

/** Every path of an artefact but its directories, in order: luet's `files` (its FileList skips directories). */
export async function listAllPackagePaths(db: DbOrTx, digest: string): Promise<string[]> {
  const rows = await db
    .select({ path: artefactFiles.path })
    .from(artefactFiles)
    .where(and(eq(artefactFiles.artefactDigest, digest), ne(artefactFiles.type, "directory")))
    .orderBy(asc(artefactFiles.path));
  return rows.map((r) => r.path);
}
