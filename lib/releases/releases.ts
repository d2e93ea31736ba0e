// Release requests: a customer asks to release a succeeded build onto a channel with a version; an admin approves
// (starting a rollout) or rejects it with a reason. Versions are semver and must grow on their channel.
import { and, asc, desc, eq, ne, sql } from "drizzle-orm";
import semver from "semver";
import { z } from "zod";
import type { DbOrTx } from "../db";
import { builds, channels, releases, repositoryRevisions, type Release } from "../db/schema";
import type { Actor } from "../auth/actor";
import { isAdmin, orgScope, requireAdmin } from "../auth/roles";
import { ConflictError, NotFoundError, ValidationError } from "../errors";
import { parseInput } from "../validation";
import { recordAudit } from "../audit/audit";
import { getChannelRow, nextSequence } from "../channels/channels";
import { releaseDiff } from "./diff";
import { selectReleases } from "./queries";
import { notifyChannelChange } from "../devices/change-feed";
import { afterKey, cursorTime, cursorTimeSchema, decodeCursor, toPage } from "../api/cursor";

const uuid = z.uuid();

export const RequestReleaseInput = z
  .object({
    buildId: z.uuid("buildId must be a build id"),
    version: z
      .string()
      .trim()
      .min(1, "version is required")
      .max(100, "version is at most 100 characters")
      .refine((v) => semver.valid(v) === v, "version must be a semantic version such as 1.4.0 or 2.0.0-rc.1 (no leading v)"),
    notes: z.string().max(10_000, "notes are at most 10,000 characters").default(""),
  })
  .strict();

export const ApproveInput = z.object({ rolloutPercent: z.number().int("rolloutPercent is a whole number").min(1, "rolloutPercent is 1–100").max(100, "rolloutPercent is 1–100").default(100) }).strict();
export const RejectInput = z.object({ reason: z.string().trim().min(1, "reason is required: say why the release is rejected").max(2000, "reason is at most 2,000 characters") }).strict();

export const ListReleasesInput = z.object({
  /** "decided": approved or rejected, the latest decisions first. */
  status: z.enum(["pending", "approved", "rejected", "decided"], "status is pending, approved, rejected or decided").optional(),
  channelId: z.uuid("channel must be a channel id").optional(),
  limit: z.coerce.number().int().min(1, "limit is 1–500").max(500, "limit is 1–500").default(500),
  cursor: z.string().optional(),
});

/** "<registry>/<org>/<flavour>:r2.1" + digest → "<registry>/<org>/<flavour>@sha256:…": what devices pull. */
export function imageByDigest(imageRef: string, digest: string): string {
  const lastSlash = imageRef.lastIndexOf("/");
  const colon = imageRef.indexOf(":", lastSlash);
  return `${colon === -1 ? imageRef : imageRef.slice(0, colon)}@${digest}`;
}

export async function requestRelease(db: DbOrTx, actor: Actor, channelId: string, input: unknown) {
  const data = parseInput(RequestReleaseInput, input);
  return db.transaction(async (tx) => {
    // The lock orders concurrent requests on one channel, so two cannot both claim the next version.
    const channel = await getChannelRow(tx, actor, channelId, { forUpdate: true });
    const [build] = await tx.select().from(builds).where(and(eq(builds.id, data.buildId), eq(builds.orgId, channel.orgId)));
    if (!build) throw new NotFoundError("No such build.");
    if (build.flavourId !== channel.flavourId) throw new ValidationError("That build is of another flavour than the channel's.");
    if (build.status !== "succeeded" || !build.imageRef || !build.imageDigest) throw new ValidationError(`Build ${build.version} has not succeeded (it is ${build.status}); only a succeeded build can be released.`);
    const existing = await tx.select({ version: releases.version }).from(releases).where(and(eq(releases.channelId, channelId), ne(releases.status, "rejected")));
    const highest = existing.map((r) => r.version).sort(semver.rcompare)[0];
    if (highest && !semver.gt(data.version, highest)) {
      throw new ValidationError(`version must be higher than ${highest}, the highest version asked for or released on ${channel.name}.`, { issues: [{ path: "version", message: `must be higher than ${highest}` }] });
    }
    const [row] = await tx
      .insert(releases)
      .values({
        orgId: channel.orgId,
        channelId,
        buildId: build.id,
        version: data.version,
        notes: data.notes,
        imageRef: imageByDigest(build.imageRef, build.imageDigest),
        imageDigest: build.imageDigest,
        imageSize: build.imageSize,
        requestedBy: actor.user.id,
      })
      .onConflictDoNothing()
      .returning();
    if (!row) throw new ConflictError(`Version ${data.version} was rejected on ${channel.name} before; choose another version.`);
    await recordAudit(tx, actor, { orgId: channel.orgId, action: "release.request", subject: row.id, channelId, before: null, after: { version: row.version, build: build.version } });
    return row;
  });
}


/**
 * A page of release requests: the admin's queue spans every organisation; pending ones oldest first, decided ones by
 * decision (newest first), others newest first; `next` is the cursor of the following page.
 */
export async function listReleases(db: DbOrTx, actor: Actor, input: unknown = {}) {
  const { status, channelId, limit, cursor } = parseInput(ListReleasesInput, input);
  const statusFilter = status === "decided" ? ne(releases.status, "pending") : status ? eq(releases.status, status) : undefined;
  // Each order is a different list: a cursor of one does not fit another. The id breaks ties.
  const [list, at, newestFirst] = status === "pending" ? ["releases:pending", releases.requestedAt, false] : status === "decided" ? ["releases:decided", releases.decidedAt, true] : ["releases", releases.requestedAt, true];
  const after = decodeCursor(list, cursor, z.tuple([cursorTimeSchema, uuid]));
  const rows = await selectReleases(db, { cursorAt: cursorTime(sql`coalesce(${at}, ${releases.requestedAt})`) })
    .where(
      and(
        orgScope(actor, releases.orgId),
        statusFilter,
        channelId ? eq(releases.channelId, channelId) : undefined,
        after ? afterKey([sql`coalesce(${at}, ${releases.requestedAt})`, releases.id], after, ["timestamptz", "uuid"], newestFirst) : undefined,
      ),
    )
    .orderBy(...(newestFirst ? [desc(sql`coalesce(${at}, ${releases.requestedAt})`), desc(releases.id)] : [asc(sql`coalesce(${at}, ${releases.requestedAt})`), asc(releases.id)]))
    .limit(limit + 1);
  const { items, next } = toPage(rows, limit, list, (r) => [r.cursorAt, r.id]);
  return { releases: items.map(({ cursorAt: _, ...release }) => release), next };
}

async function getReleaseRow(db: DbOrTx, actor: Actor, id: string, opts: { forUpdate?: boolean } = {}): Promise<Release> {
  if (!uuid.safeParse(id).success) throw new NotFoundError("No such release.");
  const query = db.select().from(releases).where(and(eq(releases.id, id), orgScope(actor, releases.orgId)));
  const [row] = opts.forUpdate ? await query.for("update") : await query;
  if (!row) throw new NotFoundError("No such release.");
  return row;
}

/** One release with what it changes against the channel's current release. */
export async function getRelease(db: DbOrTx, actor: Actor, id: string) {
  await getReleaseRow(db, actor, id);
  const [release] = await selectReleases(db).where(eq(releases.id, id));
  const [channel] = await db.select({ releaseId: channels.releaseId }).from(channels).where(eq(channels.id, release.channel.id));
  const [current] = channel.releaseId
    ? await db.select({ id: releases.id, version: releases.version, buildId: releases.buildId }).from(releases).where(eq(releases.id, channel.releaseId))
    : [];
  const [revision] = await db.select({ id: repositoryRevisions.id, number: repositoryRevisions.number }).from(repositoryRevisions).where(eq(repositoryRevisions.buildId, release.build.id));
  return {
    ...release,
    repositoryRevision: revision ?? null,
    current: current ? { id: current.id, version: current.version } : null,
    diff: current && current.id !== release.id ? await releaseDiff(db, current.buildId, release.build.id) : null,
  };
}

export async function approveRelease(db: DbOrTx, actor: Actor, id: string, input: unknown) {
  requireAdmin(actor);
  const { rolloutPercent } = parseInput(ApproveInput, input);
  return db.transaction(async (tx) => {
    const pending = await getReleaseRow(tx, actor, id);
    // Channel first, then release: the same order as requests and rollbacks, so they cannot deadlock.
    const channel = await getChannelRow(tx, actor, pending.channelId, { forUpdate: true });
    const release = await getReleaseRow(tx, actor, id, { forUpdate: true });
    if (release.status !== "pending") throw new ConflictError(`Release ${release.version} was ${release.status} already.`);
    const [current] = channel.releaseId ? await tx.select({ version: releases.version }).from(releases).where(eq(releases.id, channel.releaseId)) : [];
    if (current && !semver.gt(release.version, current.version)) throw new ConflictError(`Release ${release.version} is not higher than ${current.version}, the channel's release now.`);
    const now = new Date();
    const [approved] = await tx.update(releases).set({ status: "approved", rolloutPercent, decidedBy: actor.user.id, decidedAt: now }).where(eq(releases.id, id)).returning();
    await tx
      .update(channels)
      .set({ releaseId: id, previousReleaseId: channel.releaseId, rolloutPercent, haltedAt: null, haltReason: null, reportsCountedFrom: now, sequence: nextSequence })
      .where(eq(channels.id, channel.id));
    await notifyChannelChange(tx, channel.id);
    await recordAudit(tx, actor, {
      orgId: release.orgId,
      action: "release.approve",
      subject: id,
      channelId: channel.id,
      before: { version: current?.version ?? null, percent: channel.rolloutPercent },
      after: { version: release.version, percent: rolloutPercent },
    });
    return approved;
  });
}

export async function rejectRelease(db: DbOrTx, actor: Actor, id: string, input: unknown) {
  requireAdmin(actor);
  const { reason } = parseInput(RejectInput, input);
  return db.transaction(async (tx) => {
    const release = await getReleaseRow(tx, actor, id, { forUpdate: true });
    if (release.status !== "pending") throw new ConflictError(`Release ${release.version} was ${release.status} already.`);
    const [rejected] = await tx.update(releases).set({ status: "rejected", decidedBy: actor.user.id, decidedAt: new Date(), decisionReason: reason }).where(eq(releases.id, id)).returning();
    await recordAudit(tx, actor, { orgId: release.orgId, action: "release.reject", subject: id, channelId: release.channelId, before: { status: "pending" }, after: { status: "rejected", version: release.version, reason } });
    return rejected;
  });
}

/** Pending requests across every organisation (admins) or the actor's (customers): the count the nav shows. */
export async function countPending(db: DbOrTx, actor: Actor): Promise<number> {
  const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(releases).where(and(eq(releases.status, "pending"), isAdmin(actor) ? undefined : eq(releases.orgId, actor.org.id)));
  return row.n;
}
