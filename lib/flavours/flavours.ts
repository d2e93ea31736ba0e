// Flavours: forks of a base-manifest version owned by an organisation, with append-only numbered revisions.
import { and, desc, eq, ilike, isNotNull, isNull, lt, ne, or, sql } from "drizzle-orm";
import { z } from "zod";
import type { Db, DbOrTx } from "../db";
import { auditLog, baseManifests, channels, flavourRevisions, flavours, orgs, type BaseManifest, type Flavour, type FlavourRevision } from "../db/schema";
import type { Actor } from "../auth/actor";
import { orgScope } from "../auth/roles";
import { BadRequestError, ConflictError, NotFoundError, ValidationError } from "../errors";
import { NAME_PATTERN, type PackageDefinition } from "../manifest/schema";
import { diffPackages, type PackagesDiff } from "../manifest/diff";
import { parseInput } from "../validation";
import { getBaseManifest } from "../base-manifests/base-manifests";
import { validateExclusions, validateLayers } from "./validate-layers";
import { revisionPackages } from "./kept-packages";
import { DEFAULT_CHANNELS } from "../channels/defaults";
import { SCRATCH_REBUILD_DAYS } from "./limits";
import { afterKey, containsPattern, cursorIntSchema, cursorTime, cursorTimeSchema, cursorUuidSchema, decodeCursor, pageLimit, toPage } from "../api/cursor";

export const FlavourNameSchema = z
  .string()
  .trim()
  .min(1, "name is required")
  .max(63, "name is at most 63 characters")
  .regex(NAME_PATTERN, "name may only contain a-z, 0-9 and '-' and must start with a letter or digit (it names the OS image)");

const MessageSchema = z.string().trim().max(500, "message is at most 500 characters").default("");

export const CreateFlavourInput = z
  .object({
    baseManifestId: z.uuid("baseManifestId must be the id of a base manifest"),
    name: FlavourNameSchema,
    description: z.string().trim().max(2000, "description is at most 2000 characters").default(""),
  })
  .strict();

export const UpdateFlavourInput = z
  .object({
    name: FlavourNameSchema.optional(),
    description: z.string().trim().max(2000, "description is at most 2000 characters").optional(),
    archived: z.boolean().optional(),
    /** Rebuild the latest revision from scratch every this many days; null turns the schedule off. */
    scratchRebuildDays: z
      .number({ error: `scratchRebuildDays must be a whole number of days (${SCRATCH_REBUILD_DAYS.min}–${SCRATCH_REBUILD_DAYS.max}) or null to turn the schedule off` })
      .int("scratchRebuildDays must be a whole number of days")
      .min(SCRATCH_REBUILD_DAYS.min, `scratchRebuildDays must be at least ${SCRATCH_REBUILD_DAYS.min} (or null to turn the schedule off)`)
      .max(SCRATCH_REBUILD_DAYS.max, `scratchRebuildDays must be at most ${SCRATCH_REBUILD_DAYS.max}`)
      .nullable()
      .optional(),
  })
  .strict()
  .refine((v) => Object.keys(v).length > 0, "send at least one of name, description, archived, scratchRebuildDays");

export const SaveRevisionInput = z
  .object({
    layers: z.array(z.unknown()).optional(),
    layersYaml: z.string().optional(),
    message: MessageSchema,
    /** The revision the edit started from; a newer one answers 409 instead of overwriting someone's work. */
    parentRevision: z.number().int().positive().optional(),
    /** Base packages ("category/name") to leave out; omitted keeps those the latest revision leaves out. Checked by validateExclusions. */
    excludedPackages: z.array(z.unknown()).optional(),
  })
  .strict()
  .refine((v) => v.layers === undefined || v.layersYaml === undefined, "send either layers (JSON) or layersYaml (text), not both")
  .refine(
    (v) => v.layers !== undefined || v.layersYaml !== undefined || v.excludedPackages !== undefined,
    "send layers (JSON) or layersYaml (text), and/or excludedPackages",
  );

export const RebaseInput = z
  .object({ baseManifestId: z.uuid("baseManifestId must be the id of a base manifest"), message: MessageSchema, parentRevision: z.number().int().positive().optional() })
  .strict();

const uuidOr404 = (id: string, what: string) => {
  if (!z.uuid().safeParse(id).success) throw new NotFoundError(`No such ${what}.`);
};

/** The unique index a failed write ran into, or null when it was not a unique violation. */
function uniqueViolation(err: unknown): string | null {
  const e = err as { code?: string; constraint?: string; cause?: { code?: string; constraint?: string } };
  if (e.code === "23505") return e.constraint ?? "";
  if (e.cause?.code === "23505") return e.cause.constraint ?? "";
  return null;
}

/** The OS image's repository a flavour gets when it is made: `<org slug>/<name>`. A rename keeps it (see flavours.imageRepository). */
export const imageRepositoryFor = (orgSlug: string, name: string) => `${orgSlug}/${name}`;

const nameTaken = (name: string) => `Your organisation already has a flavour named "${name}"; choose another name.`;

/**
 * Refuses a name (for a new flavour, or a rename of `selfId`) whose registry repositories another flavour holds: the
 * image repository `<org>/<name>`, kept by a flavour that was renamed away from the name, or the package repository
 * beside an image repository (`<repository>-repo`, see lib/repository/publish.ts), which `x-repo` and `x` would share.
 * Taken under the organisation's naming lock (held to the end of the transaction), so two creates or renames cannot
 * both pass it; the unique index on image_repository stands behind it.
 */
async function claimRepository(tx: DbOrTx, org: { id: string; slug: string }, name: string, selfId?: string): Promise<string> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`strata.flavour-names:${org.id}`}, 7041))`);
  const wanted = imageRepositoryFor(org.slug, name);
  const [owner] = await tx
    .select({ name: flavours.name, imageRepository: flavours.imageRepository })
    .from(flavours)
    .where(
      and(
        or(eq(flavours.imageRepository, wanted), eq(flavours.imageRepository, `${wanted}-repo`), eq(sql`${flavours.imageRepository} || '-repo'`, wanted)),
        selfId ? ne(flavours.id, selfId) : undefined,
      ),
    )
    .limit(1);
  if (!owner) return wanted;
  if (owner.name === name) throw new ConflictError(nameTaken(name));
  if (owner.imageRepository === wanted)
    throw new ConflictError(
      `The image repository ${wanted} belongs to the flavour "${owner.name}" (it was named "${name}" when it was made, and its images stay there); choose another name.`,
    );
  throw new ConflictError(
    `The name "${name}" would share registry repositories with the flavour "${owner.name}" (its images are in ${owner.imageRepository}, its package repository in ${owner.imageRepository}-repo); choose another name.`,
  );
}

function conflictOnName(err: unknown, name: string | undefined): unknown {
  const index = uniqueViolation(err);
  if (index === null) return err;
  if (index === "flavours_image_repository_idx") return new ConflictError(`Another flavour took the image repository for "${name}" at the same moment; choose another name.`);
  return new ConflictError(nameTaken(name ?? ""));
}

export interface FlavourSummary {
  id: string;
  name: string;
  description: string;
  orgId: string;
  createdAt: Date;
  updatedAt: Date;
  archivedAt: Date | null;
  /** Where the flavour's OS images are pushed (<org>/<name it was made with>); a rename does not move it. */
  imageRepository: string;
  scratchRebuildDays: number | null;
  nextScratchRebuildAt: Date | null;
  latestRevision: number;
  base: { id: string; name: string; version: string };
}

export interface ListFlavoursOptions {
  archived?: boolean;
  /** Part of the name, any case. */
  q?: string;
  /** From the previous page's `next`. */
  cursor?: string;
  /** 1–100, default 50. */
  limit?: number;
}

/** A page of flavours, the most recently changed first; `next` is the cursor of the following page. */
export async function listFlavours(db: DbOrTx, actor: Actor, opts: ListFlavoursOptions = {}): Promise<{ flavours: FlavourSummary[]; next: string | null }> {
  const limit = pageLimit(opts.limit);
  const after = decodeCursor("flavours", opts.cursor, z.tuple([cursorTimeSchema, cursorUuidSchema]));
  // The latest revision of each flavour, found per row (lateral) through the (flavour_id, number) index.
  const latest = db
    .select({ number: flavourRevisions.number, baseManifestId: flavourRevisions.baseManifestId })
    .from(flavourRevisions)
    .where(eq(flavourRevisions.flavourId, flavours.id))
    .orderBy(desc(flavourRevisions.number))
    .limit(1)
    .as("latest");
  const q = opts.q?.trim();
  const rows = await db
    .select({ flavour: flavours, cursorAt: cursorTime(flavours.updatedAt), latestRevision: latest.number, base: { id: baseManifests.id, name: baseManifests.name, version: baseManifests.version } })
    .from(flavours)
    .innerJoinLateral(latest, sql`true`)
    .innerJoin(baseManifests, eq(baseManifests.id, latest.baseManifestId))
    .where(
      and(
        orgScope(actor, flavours.orgId),
        opts.archived ? isNotNull(flavours.archivedAt) : isNull(flavours.archivedAt),
        q ? ilike(flavours.name, containsPattern(q)) : undefined,
        after ? afterKey([flavours.updatedAt, flavours.id], after, ["timestamptz", "uuid"], true) : undefined,
      ),
    )
    // (updated_at, id): the id breaks ties, so the order is total and a cursor never skips or repeats a flavour.
    .orderBy(desc(flavours.updatedAt), desc(flavours.id))
    .limit(limit + 1);
  const { items, next } = toPage(rows, limit, "flavours", (r) => [r.cursorAt, r.flavour.id]);
  return { flavours: items.map((r) => ({ ...pickFlavour(r.flavour), latestRevision: Number(r.latestRevision), base: r.base })), next };
}

const pickFlavour = (f: Flavour) => ({
  id: f.id,
  name: f.name,
  description: f.description,
  orgId: f.orgId,
  createdAt: f.createdAt,
  updatedAt: f.updatedAt,
  archivedAt: f.archivedAt,
  imageRepository: f.imageRepository,
  scratchRebuildDays: f.scratchRebuildDays,
  nextScratchRebuildAt: nextScratchRebuildAt(f),
});

/** When the schedule starts the next from-scratch build: one interval after it last did (or was turned on); null when off. */
export function nextScratchRebuildAt(f: Pick<Flavour, "scratchRebuildDays" | "scratchRebuildFrom">): Date | null {
  if (f.scratchRebuildDays === null || f.scratchRebuildFrom === null) return null;
  return new Date(f.scratchRebuildFrom.getTime() + f.scratchRebuildDays * 24 * 3600 * 1000);
}

/** The flavour if the actor may see it; another organisation's flavour is a 404, as if it did not exist. */
export async function getFlavourRow(db: DbOrTx, actor: Actor, id: string, opts: { forUpdate?: boolean } = {}): Promise<Flavour> {
  uuidOr404(id, "flavour");
  const query = db.select().from(flavours).where(and(eq(flavours.id, id), orgScope(actor, flavours.orgId)));
  const [row] = opts.forUpdate ? await query.for("update") : await query;
  if (!row) throw new NotFoundError("No such flavour.");
  return row;
}

/** `lock`: hold the revision's row (no key update) to the end of the transaction, e.g. to number its builds. */
export async function getRevisionRow(db: DbOrTx, flavourId: string, number?: number, opts: { lock?: boolean } = {}): Promise<FlavourRevision> {
  const where = number === undefined ? eq(flavourRevisions.flavourId, flavourId) : and(eq(flavourRevisions.flavourId, flavourId), eq(flavourRevisions.number, number));
  const query = db.select().from(flavourRevisions).where(where).orderBy(desc(flavourRevisions.number)).limit(1);
  const [row] = opts.lock ? await query.for("no key update") : await query;
  if (!row) throw new NotFoundError(number === undefined ? "The flavour has no revision." : `No revision ${number} of this flavour.`);
  return row;
}

export interface RevisionView {
  id: string;
  number: number;
  message: string;
  createdAt: Date;
  createdBy: string | null;
  base: { id: string; name: string; version: string; header: BaseManifest["header"] };
  layers: PackageDefinition[];
  /** Base packages ("category/name") this revision leaves out, in base order. */
  excludedPackages: string[];
  /** The kept base packages then the layers: what a build installs, in order. */
  packages: PackageDefinition[];
}

async function revisionView(db: DbOrTx, revision: FlavourRevision): Promise<RevisionView> {
  const base = await getBaseManifest(db, revision.baseManifestId);
  return {
    id: revision.id,
    number: revision.number,
    message: revision.message,
    createdAt: revision.createdAt,
    createdBy: revision.createdBy,
    base: { id: base.id, name: base.name, version: base.version, header: base.header },
    layers: revision.layers,
    excludedPackages: revision.excludedPackages,
    packages: revisionPackages(base.packages, revision),
  };
}

export async function getFlavour(db: DbOrTx, actor: Actor, id: string) {
  const flavour = await getFlavourRow(db, actor, id);
  const latest = await revisionView(db, await getRevisionRow(db, flavour.id));
  return { ...pickFlavour(flavour), latest };
}

export async function getRevision(db: DbOrTx, actor: Actor, flavourId: string, number: number): Promise<RevisionView> {
  const flavour = await getFlavourRow(db, actor, flavourId);
  return revisionView(db, await getRevisionRow(db, flavour.id, number));
}

/** A page of a flavour's revisions, the newest first; `next` is the cursor of the following page. */
export async function listRevisions(db: DbOrTx, actor: Actor, flavourId: string, opts: { cursor?: string; limit?: number } = {}) {
  const limit = pageLimit(opts.limit);
  const after = decodeCursor("revisions", opts.cursor, z.tuple([cursorIntSchema]));
  const flavour = await getFlavourRow(db, actor, flavourId);
  const rows = await db
    .select({
      id: flavourRevisions.id,
      number: flavourRevisions.number,
      message: flavourRevisions.message,
      createdAt: flavourRevisions.createdAt,
      createdBy: flavourRevisions.createdBy,
      layerCount: sql<number>`jsonb_array_length(${flavourRevisions.layers})::int`,
      excludedPackages: flavourRevisions.excludedPackages,
      base: { id: baseManifests.id, name: baseManifests.name, version: baseManifests.version },
    })
    .from(flavourRevisions)
    .innerJoin(baseManifests, eq(baseManifests.id, flavourRevisions.baseManifestId))
    .where(and(eq(flavourRevisions.flavourId, flavour.id), after ? lt(flavourRevisions.number, after[0]) : undefined))
    .orderBy(desc(flavourRevisions.number))
    .limit(limit + 1);
  const { items, next } = toPage(rows, limit, "revisions", (r) => [r.number]);
  return { revisions: items, next };
}

/** Fork: a new flavour on a base-manifest version, with revision 1 holding no layers yet. */
export async function createFlavour(db: Db, actor: Actor, input: unknown) {
  const data = parseInput(CreateFlavourInput, input);
  const base = await getBaseManifest(db, data.baseManifestId);
  return insertFlavour(db, actor, { name: data.name, description: data.description, base, layers: [], message: `Forked from ${base.name} ${base.version}` });
}

/** Shared by fork and import: the flavour row and its first revision, in one transaction. */
export async function insertFlavour(
  db: Db,
  actor: Actor,
  v: { name: string; description: string; base: BaseManifest; layers: PackageDefinition[]; excludedPackages?: string[]; message: string },
) {
  try {
    return await db.transaction(async (tx) => {
      const imageRepository = await claimRepository(tx, actor.org, v.name);
      const [flavour] = await tx.insert(flavours).values({ orgId: actor.org.id, name: v.name, description: v.description, createdBy: actor.user.id, imageRepository }).returning();
      const [revision] = await tx
        .insert(flavourRevisions)
        .values({ flavourId: flavour.id, orgId: flavour.orgId, number: 1, baseManifestId: v.base.id, layers: v.layers, excludedPackages: v.excludedPackages ?? [], message: v.message, createdBy: actor.user.id })
        .returning();
      await tx.insert(channels).values(DEFAULT_CHANNELS.map((c) => ({ orgId: flavour.orgId, flavourId: flavour.id, name: c.name, description: c.description, createdBy: actor.user.id })));
      await tx.insert(auditLog).values({ orgId: actor.org.id, actorUserId: actor.user.id, action: "flavour.create", subject: flavour.id, detail: { name: v.name } });
      return { ...pickFlavour(flavour), latest: await revisionView(tx, revision) };
    });
  } catch (err) {
    throw conflictOnName(err, v.name);
  }
}

export async function updateFlavour(db: Db, actor: Actor, id: string, input: unknown) {
  const data = parseInput(UpdateFlavourInput, input);
  try {
    return await db.transaction(async (tx) => {
      const flavour = await getFlavourRow(tx, actor, id, { forUpdate: true });
      // A rename keeps the image repository; the new name must not be one whose repositories another flavour holds.
      if (data.name !== undefined && data.name !== flavour.name) {
        const [org] = await tx.select({ id: orgs.id, slug: orgs.slug }).from(orgs).where(eq(orgs.id, flavour.orgId));
        await claimRepository(tx, org, data.name, flavour.id);
      }
      const [updated] = await tx
        .update(flavours)
        .set({
          ...(data.name !== undefined ? { name: data.name } : {}),
          ...(data.description !== undefined ? { description: data.description } : {}),
          ...(data.archived !== undefined ? { archivedAt: data.archived ? (flavour.archivedAt ?? new Date()) : null } : {}),
          // Turning the schedule on starts its clock (the first rebuild is one interval away); a new interval keeps it.
          ...(data.scratchRebuildDays !== undefined
            ? {
                scratchRebuildDays: data.scratchRebuildDays,
                scratchRebuildFrom: data.scratchRebuildDays === null ? null : (flavour.scratchRebuildDays !== null ? flavour.scratchRebuildFrom : null) ?? new Date(),
              }
            : {}),
          updatedAt: new Date(),
        })
        .where(eq(flavours.id, flavour.id))
        .returning();
      return pickFlavour(updated);
    });
  } catch (err) {
    throw conflictOnName(err, data.name);
  }
}

async function appendRevision(
  tx: DbOrTx,
  actor: Actor,
  flavour: Flavour,
  v: { baseManifestId: string; layers: PackageDefinition[]; excludedPackages: string[]; message: string; parentRevision?: number },
): Promise<RevisionView> {
  const latest = await getRevisionRow(tx, flavour.id);
  if (v.parentRevision !== undefined && v.parentRevision !== latest.number)
    throw new ConflictError(`Revision ${latest.number} was saved since you started editing revision ${v.parentRevision}; reload to see it, then apply your change again.`);
  const [revision] = await tx
    .insert(flavourRevisions)
    .values({
      flavourId: flavour.id,
      orgId: flavour.orgId,
      number: latest.number + 1,
      baseManifestId: v.baseManifestId,
      layers: v.layers,
      excludedPackages: v.excludedPackages,
      message: v.message,
      createdBy: actor.user.id,
    })
    .returning();
  await tx.update(flavours).set({ updatedAt: new Date() }).where(eq(flavours.id, flavour.id));
  return revisionView(tx, revision);
}

/** Every save is a new immutable revision numbered after the latest. */
export async function saveRevision(db: Db, actor: Actor, flavourId: string, input: unknown): Promise<RevisionView> {
  const data = parseInput(SaveRevisionInput, input);
  return db.transaction(async (tx) => {
    // The row lock serialises concurrent saves of one flavour, so numbers never collide.
    const flavour = await getFlavourRow(tx, actor, flavourId, { forUpdate: true });
    if (flavour.archivedAt) throw new ConflictError("This flavour is archived; restore it before changing it.");
    const latest = await getRevisionRow(tx, flavour.id);
    const base = await getBaseManifest(tx, latest.baseManifestId);
    // Omitted layers or exclusions stay as the latest revision has them.
    const layers = data.layers === undefined && data.layersYaml === undefined ? latest.layers : validateLayers(base.packages, data);
    const excludedPackages = validateExclusions(base.packages, layers, data.excludedPackages ?? latest.excludedPackages, `${base.name} ${base.version}`);
    return appendRevision(tx, actor, flavour, { baseManifestId: base.id, layers, excludedPackages, message: data.message, parentRevision: data.parentRevision });
  });
}

/** The change a rebase would make, and whether the layers still fit the new base. */
export async function previewRebase(db: DbOrTx, actor: Actor, flavourId: string, baseManifestId: string) {
  const flavour = await getFlavourRow(db, actor, flavourId);
  const latest = await revisionView(db, await getRevisionRow(db, flavour.id));
  const target = await getBaseManifest(db, baseManifestId);
  const { excludedPackages, notes } = carryExclusions(latest.excludedPackages, target);
  const problems: Array<{ path: string; message: string }> = [];
  for (const check of [() => validateLayers(target.packages, { layers: latest.layers }), () => validateExclusions(target.packages, latest.layers, excludedPackages, `${target.name} ${target.version}`)]) {
    try {
      check();
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      problems.push(...((err.details as { issues?: Array<{ path: string; message: string }> })?.issues ?? []).map((i) => ({ path: i.path, message: i.message })));
    }
  }
  return {
    from: latest.base,
    to: { id: target.id, name: target.name, version: target.version },
    diff: diffPackages(latest.packages, revisionPackages(target.packages, { layers: latest.layers, excludedPackages })),
    /** The base packages the rebased revision leaves out. */
    excludedPackages,
    /** What the rebase does on its own, e.g. drops an exclusion of a package the target lacks. */
    notes,
    problems,
  };
}

/** A rebase keeps what the flavour leaves out, except packages the target base does not have (nothing to leave out). */
function carryExclusions(excluded: string[], target: BaseManifest): { excludedPackages: string[]; notes: string[] } {
  const targetIds = new Set(target.packages.map((p) => `${p.category}/${p.name}`));
  const dropped = excluded.filter((id) => !targetIds.has(id));
  return {
    excludedPackages: excluded.filter((id) => targetIds.has(id)),
    notes: dropped.map((id) => `${id} is left out now, but ${target.name} ${target.version} has no such package; the rebased revision no longer lists it as left out.`),
  };
}

export async function rebaseFlavour(db: Db, actor: Actor, flavourId: string, input: unknown): Promise<RevisionView> {
  const data = parseInput(RebaseInput, input);
  return db.transaction(async (tx) => {
    const flavour = await getFlavourRow(tx, actor, flavourId, { forUpdate: true });
    if (flavour.archivedAt) throw new ConflictError("This flavour is archived; restore it before changing it.");
    const latest = await getRevisionRow(tx, flavour.id);
    const target = await getBaseManifest(tx, data.baseManifestId);
    if (target.id === latest.baseManifestId) throw new BadRequestError(`The flavour is already on ${target.name} ${target.version}.`);
    const layers = validateLayers(target.packages, { layers: latest.layers });
    const excludedPackages = validateExclusions(target.packages, layers, carryExclusions(latest.excludedPackages, target).excludedPackages, `${target.name} ${target.version}`);
    const message = data.message || `Rebased onto ${target.name} ${target.version}`;
    return appendRevision(tx, actor, flavour, { baseManifestId: target.id, layers, excludedPackages, message, parentRevision: data.parentRevision });
  });
}

/**
 * Diff of two revisions' package lists (kept base packages and layers; a left-out base package shows as removed);
 * `from = "base"` compares a revision with the plain base it sits on. `excluded` says which base packages each side leaves out.
 */
export async function diffRevisions(
  db: DbOrTx,
  actor: Actor,
  flavourId: string,
  from: number | "base",
  to: number,
): Promise<{ from: string; to: string; diff: PackagesDiff; excluded: { from: string[]; to: string[] } }> {
  const flavour = await getFlavourRow(db, actor, flavourId);
  const after = await revisionView(db, await getRevisionRow(db, flavour.id, to));
  if (from === "base") {
    const base = await getBaseManifest(db, after.base.id);
    return { from: `${base.name} ${base.version}`, to: `revision ${to}`, diff: diffPackages(base.packages, after.packages), excluded: { from: [], to: after.excludedPackages } };
  }
  const before = await revisionView(db, await getRevisionRow(db, flavour.id, from));
  return { from: `revision ${from}`, to: `revision ${to}`, diff: diffPackages(before.packages, after.packages), excluded: { from: before.excludedPackages, to: after.excludedPackages } };
}
