// Builds as customers see them: start (row + job in one transaction), cancel, retry, list, read.
import { and, asc, count, desc, eq, gt, ilike, sql } from "drizzle-orm";
import { z } from "zod";
import type { Db, DbOrTx } from "../db";
import { artefactFiles, artefacts, auditLog, repositoryRevisions, buildLogs, buildPackages, builds, flavourRevisions, users, type Build, type BuildStatus, TERMINAL_STATUSES } from "../db/schema";
import type { Actor } from "../auth/actor";
import { orgScope } from "../auth/roles";
import { ConflictError, NotFoundError, RateLimitedError } from "../errors";
import { config } from "../config";
import { packageId } from "../manifest/schema";
import type PgBoss from "pg-boss";
import { bossDb, getSenderBoss, QUEUES, type BuildJob } from "../jobs/boss";
import { notifyBuildQueued } from "../jobs/wake";
import { notifyBuildCancel } from "../builder/cancel-listener";
import { parseInput } from "../validation";
import { getFlavourRow, getRevisionRow } from "../flavours/flavours";
import { keptBasePackages } from "../flavours/kept-packages";
import { getBaseManifest } from "../base-manifests/base-manifests";
import { versionName } from "./version-name";
import { afterKey, containsPattern, cursorTime, cursorTimeSchema, cursorUuidSchema, decodeCursor, pageLimit, toPage } from "../api/cursor";

export const StartBuildInput = z
  .object({
    /** Revision number to build; the latest when omitted. */
    revision: z.number().int().positive().optional(),
    /** false: build from scratch, every package again without the cache (its results then become the cached ones). */
    cache: z.boolean({ error: "cache must be true or false (false builds every package again, without the cache)" }).default(true),
  })
  .strict();

function uniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; cause?: { code?: string } };
  return e.code === "23505" || e.cause?.code === "23505";
}

const uuidOr404 = (id: string) => {
  if (!z.uuid().safeParse(id).success) throw new NotFoundError("No such build.");
};

/** How a build is started: a retry of which build, from scratch, by the flavour's schedule. */
export interface EnqueueOptions {
  retryOf?: string;
  fromScratch?: boolean;
  scheduled?: boolean;
  /** The pg-boss to send the job with (a worker's own); the web process's sender when absent. */
  boss?: PgBoss;
}

/** The message of the queued cap (STRATA_ORG_MAX_QUEUED), as the API and the build button show it. */
export const queueFullMessage = (max: number) => `Your organisation has ${max} builds waiting (the limit); wait for some to finish or cancel one.`;

/** Thrown by enqueueBuild when the organisation already has its cap of queued builds: a 429 that writes nothing. */
export class QueueFullError extends RateLimitedError {
  constructor(readonly maxQueued: number) {
    // A queued build takes minutes: asking again sooner than that changes nothing.
    super(queueFullMessage(maxQueued), 60);
  }
}

/** Builds of the revision ("build" kind) number 1, 2, …; imports (r1.1-import.1) and versions that are not r<rev>.<n> are not counted. */
const BUILD_NUMBER = sql<number>`coalesce(max(substring(${builds.version} from '^r[0-9]+[.]([0-9]+)$')::int), 0)::int`;

/**
 * Inserts the build, its package rows and its job in the caller's transaction; a null actor is the scheduler.
 *
 * Two locks, always in this order: the organisation's queue lock (a transaction advisory lock), under which its
 * queued builds are counted for the cap and the job's priority; then the revision's row, under which the version is
 * the revision's highest build number + 1. Two Build clicks therefore get r1.1 and r1.2, never one version twice; the
 * unique indexes (revision_id, version) and (flavour_id, version) stand behind the lock, and a violation that still
 * happens is a 409, not a 500.
 *
 * Fair ordering between organisations: pg-boss hands out jobs by priority (higher first), then by age. A build's
 * priority is minus the number of builds its organisation already has queued: its 1st waiting build gets 0, its 2nd
 * -1, its n-th -(n-1). So an organisation's n-th waiting build runs after every other organisation's (n-1)-th, and one
 * organisation queueing 20 builds delays another's single build by at most one build per organisation, not by 20.
 * The priority is fixed when the build is queued (a job re-sent for a retry or the running cap keeps it).
 */
export async function enqueueBuild(tx: DbOrTx, actor: Actor | null, flavour: { id: string; orgId: string }, revisionNumber: number, opts: EnqueueOptions = {}): Promise<Build> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`strata.org-queue:${flavour.orgId}`}, 7041))`);
  const [{ queued }] = await tx.select({ queued: count() }).from(builds).where(and(eq(builds.orgId, flavour.orgId), eq(builds.status, "queued")));
  const maxQueued = config.orgMaxQueued;
  if (queued >= maxQueued) throw new QueueFullError(maxQueued);

  const revision = await getRevisionRow(tx, flavour.id, revisionNumber, { lock: true });
  const base = await getBaseManifest(tx, revision.baseManifestId);
  const packages = [
    ...keptBasePackages(base.packages, revision.excludedPackages).map((p) => ({ p, fromBase: true })),
    ...revision.layers.map((p) => ({ p, fromBase: false })),
  ];
  // Imports (r1.1-import.1) share their parent's revision but are not builds of it.
  const [{ last }] = await tx.select({ last: BUILD_NUMBER }).from(builds).where(and(eq(builds.revisionId, revision.id), eq(builds.kind, "build")));
  const version = versionName(revision.number, last + 1);
  let build: Build;
  try {
    [build] = await tx
      .insert(builds)
      .values({
        orgId: flavour.orgId,
        flavourId: flavour.id,
        revisionId: revision.id,
        revisionNumber: revision.number,
        version,
        totalPackages: packages.length,
        startedBy: actor?.user.id ?? null,
        retryOf: opts.retryOf,
        fromScratch: opts.fromScratch ?? false,
        scheduled: opts.scheduled ?? false,
      })
      .returning();
  } catch (err) {
    if (uniqueViolation(err)) throw new ConflictError(`Version ${version} of this flavour was taken at the same moment by another build; press Build again.`);
    throw err;
  }
  await tx.insert(buildPackages).values(packages.map(({ p, fromBase }, position) => ({ buildId: build.id, position, packageId: packageId(p), version: p.version, fromBase })));
  const boss = opts.boss ?? (await getSenderBoss());
  const jobId = await boss.send(QUEUES.build, { buildId: build.id } satisfies BuildJob, { db: bossDb(tx), priority: -queued });
  await notifyBuildQueued(tx, build.id);
  const [withJob] = await tx.update(builds).set({ jobId }).where(eq(builds.id, build.id)).returning();
  return withJob;
}

export async function startBuild(db: Db, actor: Actor, flavourId: string, input: unknown): Promise<Build> {
  const { revision, cache } = parseInput(StartBuildInput, input ?? {});
  return db.transaction(async (tx) => {
    const flavour = await getFlavourRow(tx, actor, flavourId);
    if (flavour.archivedAt) throw new ConflictError("This flavour is archived; restore it before building.");
    const number = revision ?? (await getRevisionRow(tx, flavour.id)).number;
    return enqueueBuild(tx, actor, flavour, number, { fromScratch: !cache });
  });
}

/** The build if the actor may see it; another organisation's build (or a malformed id) is a 404. */
export async function getBuildRow(db: DbOrTx, actor: Actor, id: string, opts: { forUpdate?: boolean } = {}): Promise<Build> {
  uuidOr404(id);
  const query = db.select().from(builds).where(and(eq(builds.id, id), orgScope(actor, builds.orgId)));
  const [row] = opts.forUpdate ? await query.for("update") : await query;
  if (!row) throw new NotFoundError("No such build.");
  return row;
}

export async function getBuild(db: DbOrTx, actor: Actor, id: string) {
  const build = await getBuildRow(db, actor, id);
  const packages = await db
    .select({
      position: buildPackages.position,
      packageId: buildPackages.packageId,
      version: buildPackages.version,
      fromBase: buildPackages.fromBase,
      status: buildPackages.status,
      cached: buildPackages.cached,
      cacheKey: buildPackages.cacheKey,
      step: buildPackages.step,
      steps: buildPackages.steps,
      durationMs: buildPackages.durationMs,
      // With startedAt, for the progress weighted by expected time and the time left.
      expectedMs: buildPackages.expectedMs,
      startedAt: buildPackages.startedAt,
      // From-scratch builds: what the cache held for the key before, and how the rebuilt artefact differs from it.
      previousArtefactDigest: buildPackages.previousArtefactDigest,
      changes: buildPackages.changes,
      artefact: { digest: artefacts.digest, size: artefacts.size, uncompressedSize: artefacts.uncompressedSize, fileCount: artefacts.fileCount, compression: artefacts.compression },
    })
    .from(buildPackages)
    .leftJoin(artefacts, eq(artefacts.digest, buildPackages.artefactDigest))
    .where(eq(buildPackages.buildId, build.id))
    .orderBy(asc(buildPackages.position));
  // Typed by hand: the user may have been deleted since (startedBy is then null, or the row is gone).
  const starter: { name: string; email: string } | null = build.startedBy
    ? ((await db.select({ name: users.name, email: users.email }).from(users).where(eq(users.id, build.startedBy)))[0] ?? null)
    : null;
  const [published] = await db.select({ number: repositoryRevisions.number }).from(repositoryRevisions).where(eq(repositoryRevisions.buildId, build.id));
  return { ...build, startedByUser: starter, repositoryRevision: (published?.number ?? null) as number | null, packages: packages.map((p) => ({ ...p, artefact: p.artefact?.digest ? p.artefact : null })) };
}

export interface ListBuildsOptions {
  status?: BuildStatus;
  /** Builds of this revision number only. */
  revision?: number;
  /** Part of the version, e.g. "r12." or "import". */
  q?: string;
  /** From the previous page's `next`. */
  cursor?: string;
  /** 1–100, default 50. */
  limit?: number;
}

/** A page of a flavour's builds, the newest first; `next` is the cursor of the following page. */
export async function listBuilds(db: DbOrTx, actor: Actor, flavourId: string, opts: ListBuildsOptions = {}) {
  const limit = pageLimit(opts.limit);
  const after = decodeCursor("builds", opts.cursor, z.tuple([cursorTimeSchema, cursorUuidSchema]));
  const flavour = await getFlavourRow(db, actor, flavourId);
  const q = opts.q?.trim();
  const rows = await db
    .select({
      id: builds.id,
      version: builds.version,
      revisionNumber: builds.revisionNumber,
      status: builds.status,
      fromScratch: builds.fromScratch,
      scheduled: builds.scheduled,
      totalPackages: builds.totalPackages,
      donePackages: builds.donePackages,
      phase: builds.phase,
      phaseDetail: builds.phaseDetail,
      imageRef: builds.imageRef,
      imageDigest: builds.imageDigest,
      kind: builds.kind,
      sourceReference: builds.sourceReference,
      error: builds.error,
      createdAt: builds.createdAt,
      startedAt: builds.startedAt,
      finishedAt: builds.finishedAt,
      startedBy: { name: users.name, email: users.email },
      cursorAt: cursorTime(builds.createdAt),
    })
    .from(builds)
    .leftJoin(users, eq(users.id, builds.startedBy))
    .where(
      and(
        eq(builds.flavourId, flavour.id),
        opts.status ? eq(builds.status, opts.status) : undefined,
        opts.revision !== undefined ? eq(builds.revisionNumber, opts.revision) : undefined,
        q ? ilike(builds.version, containsPattern(q)) : undefined,
        after ? afterKey([builds.createdAt, builds.id], after, ["timestamptz", "uuid"], true) : undefined,
      ),
    )
    // (created_at, id) through builds_flavour_idx: the id breaks ties between builds started in the same instant.
    .orderBy(desc(builds.createdAt), desc(builds.id))
    .limit(limit + 1);
  const { items, next } = toPage(rows, limit, "builds", (r) => [r.cursorAt, r.id]);
  return { builds: items.map(({ cursorAt: _, ...build }) => build), next };
}

/** Queued builds are cancelled at once; a running one is asked to stop (its worker kills the container). */
export async function cancelBuild(db: Db, actor: Actor, id: string): Promise<Build> {
  return db.transaction(async (tx) => {
    const build = await getBuildRow(tx, actor, id, { forUpdate: true });
    if (TERMINAL_STATUSES.includes(build.status)) throw new ConflictError(`The build has already ${build.status === "succeeded" ? "succeeded" : build.status === "failed" ? "failed" : "been cancelled"}.`);
    const now = new Date();
    const [updated] =
      build.status === "queued"
        ? await tx.update(builds).set({ status: "cancelled", cancelRequestedAt: now, finishedAt: now, error: "Cancelled before it started." }).where(eq(builds.id, id)).returning()
        : await tx.update(builds).set({ cancelRequestedAt: now }).where(eq(builds.id, id)).returning();
    // The worker running it hears this at commit (LISTEN), not at its next heartbeat.
    if (build.status !== "queued") await notifyBuildCancel(tx, id);
    if (build.status === "queued") {
      await tx.update(buildPackages).set({ status: "cancelled" }).where(and(eq(buildPackages.buildId, id), eq(buildPackages.status, "pending")));
      if (build.jobId) await (await getSenderBoss()).cancel(QUEUES.build, build.jobId, { db: bossDb(tx) });
    }
    await tx.insert(auditLog).values({ orgId: build.orgId, actorUserId: actor.user.id, action: "build.cancel", subject: id });
    return updated;
  });
}

/** A failed or cancelled build is retried as a new build of the same revision (the cache makes finished packages instant). */
export async function retryBuild(db: Db, actor: Actor, id: string): Promise<Build> {
  return db.transaction(async (tx) => {
    const build = await getBuildRow(tx, actor, id);
    if (build.status !== "failed" && build.status !== "cancelled") throw new ConflictError(`Only failed or cancelled builds can be retried; this one is ${build.status}.`);
    const flavour = await getFlavourRow(tx, actor, build.flavourId);
    const [revision] = await tx.select({ number: flavourRevisions.number }).from(flavourRevisions).where(eq(flavourRevisions.id, build.revisionId));
    // A from-scratch build stays one when retried: every package is built again, those the failed attempt rebuilt too.
    return enqueueBuild(tx, actor, flavour, revision.number, { retryOf: build.id, fromScratch: build.fromScratch });
  });
}

export async function getBuildLogs(db: DbOrTx, actor: Actor, id: string, opts: { after?: number; limit?: number } = {}) {
  const build = await getBuildRow(db, actor, id);
  const lines = await db
    .select({ id: buildLogs.id, packageId: buildLogs.packageId, line: buildLogs.line, at: buildLogs.at })
    .from(buildLogs)
    .where(and(eq(buildLogs.buildId, build.id), opts.after ? gt(buildLogs.id, opts.after) : undefined))
    .orderBy(asc(buildLogs.id))
    .limit(Math.min(opts.limit ?? 1000, 5000));
  return { build, lines };
}

const ARTEFACT_FILES_SHOWN = 5_000;

/** Artefact file lists of a build's packages, for the artefact browser. */
export async function getArtefactFiles(db: DbOrTx, actor: Actor, buildId: string, digest: string) {
  const build = await getBuildRow(db, actor, buildId);
  const [owned] = await db
    .select({ digest: buildPackages.artefactDigest })
    .from(buildPackages)
    .where(and(eq(buildPackages.buildId, build.id), eq(buildPackages.artefactDigest, digest)));
  if (!owned) throw new NotFoundError("No such artefact in this build.");
  const [row] = await db.select().from(artefacts).where(eq(artefacts.digest, digest));
  if (!row) throw new NotFoundError("No such artefact.");
  // The build page shows the first files; the repository's package page pages through all of them.
  const files = await db
    .select({ path: artefactFiles.path, type: artefactFiles.type, size: artefactFiles.size, mode: artefactFiles.mode, target: artefactFiles.target, sha256: artefactFiles.sha256 })
    .from(artefactFiles)
    .where(eq(artefactFiles.artefactDigest, digest))
    .orderBy(asc(artefactFiles.path))
    .limit(ARTEFACT_FILES_SHOWN + 1);
  return { ...row, files: files.slice(0, ARTEFACT_FILES_SHOWN), filesTruncated: files.length > ARTEFACT_FILES_SHOWN };
}

