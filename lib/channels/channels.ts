// What customers and admins do with channels: list, create, read (with its release history and devices), settings,
// and the admin's pause, resume, rollout and rollback. Every change bumps the channel's document sequence and is
// audited in its transaction.
import { and, asc, desc, eq, inArray, sql } from "drizzle-orm";
import { z } from "zod";
import type { DbOrTx } from "../db";
import { channels, devices, flavours, releases, type Channel } from "../db/schema";
import type { Actor } from "../auth/actor";
import { orgScope, requireAdmin } from "../auth/roles";
import { ConflictError, NotFoundError, ValidationError } from "../errors";
import { NAME_PATTERN } from "../manifest/schema";
import { parseInput } from "../validation";
import { getFlavourRow } from "../flavours/flavours";
import { recordAudit } from "../audit/audit";
import { selectReleases } from "../releases/queries";
import { notifyChannelChange } from "../devices/change-feed";

export const nextSequence = sql`nextval('channel_document_sequence')`;

const uuid = z.uuid();

export const CreateChannelInput = z
  .object({
    name: z.string().trim().min(1, "name is required").max(40, "name is at most 40 characters").regex(NAME_PATTERN, "name may hold only a-z, 0-9 and -, starting with a letter or digit"),
    description: z.string().trim().max(500, "description is at most 500 characters").default(""),
  })
  .strict();

export const UpdateChannelInput = z
  .object({
    description: z.string().trim().max(500, "description is at most 500 characters").optional(),
    failureThresholdPercent: z.number().int().min(1, "failureThresholdPercent is 1–100").max(100, "failureThresholdPercent is 1–100").optional(),
    failureMinReports: z.number().int().min(1, "failureMinReports is at least 1").max(100_000).optional(),
  })
  .strict();

export const PauseInput = z.object({ reason: z.string().trim().max(500, "reason is at most 500 characters").default("") }).strict();
export const RolloutInput = z.object({ percent: z.number().int("percent is a whole number").min(1, "percent is 1–100").max(100, "percent is 1–100") }).strict();
export const RollbackInput = z.object({ releaseId: z.uuid("releaseId must be a release id") }).strict();

/** The channel row, or 404 (also for another organisation's channel). */
export async function getChannelRow(db: DbOrTx, actor: Actor, id: string, opts: { forUpdate?: boolean } = {}): Promise<Channel> {
  if (!uuid.safeParse(id).success) throw new NotFoundError("No such channel.");
  const query = db.select().from(channels).where(and(eq(channels.id, id), orgScope(actor, channels.orgId)));
  const [row] = opts.forUpdate ? await query.for("update") : await query;
  if (!row) throw new NotFoundError("No such channel.");
  return row;
}


export async function listChannels(db: DbOrTx, actor: Actor, flavourId: string) {
  const flavour = await getFlavourRow(db, actor, flavourId);
  const rows = await db
    .select({
      id: channels.id,
      name: channels.name,
      description: channels.description,
      rolloutPercent: channels.rolloutPercent,
      pausedAt: channels.pausedAt,
      haltedAt: channels.haltedAt,
      haltReason: channels.haltReason,
      releaseId: channels.releaseId,
      releaseVersion: releases.version,
      devices: sql<number>`(select count(*)::int from ${devices} d where d.channel_id = ${channels.id} and d.revoked_at is null)`,
      pending: sql<number>`(select count(*)::int from ${releases} r where r.channel_id = ${channels.id} and r.status = 'pending')`,
      createdAt: channels.createdAt,
    })
    .from(channels)
    .leftJoin(releases, eq(releases.id, channels.releaseId))
    .where(eq(channels.flavourId, flavour.id))
    // stable and beta first (they are made together), then the flavour's own channels in the order they were added.
    .orderBy(sql`case ${channels.name} when 'stable' then 0 when 'beta' then 1 else 2 end`, asc(channels.createdAt), asc(channels.name));
  return { flavour: { id: flavour.id, name: flavour.name }, channels: rows };
}

export async function createChannel(db: DbOrTx, actor: Actor, flavourId: string, input: unknown) {
  const data = parseInput(CreateChannelInput, input);
  return db.transaction(async (tx) => {
    const flavour = await getFlavourRow(tx, actor, flavourId);
    const [row] = await tx
      .insert(channels)
      .values({ orgId: flavour.orgId, flavourId: flavour.id, name: data.name, description: data.description, createdBy: actor.user.id })
      .onConflictDoNothing()
      .returning();
    if (!row) throw new ConflictError(`The flavour ${flavour.name} already has a channel named "${data.name}".`);
    await recordAudit(tx, actor, { orgId: flavour.orgId, action: "channel.create", subject: row.id, channelId: row.id, after: { name: row.name } });
    return row;
  });
}

/** The channel page: the channel, its flavour, current and previous release, history, and device figures. */
export async function getChannel(db: DbOrTx, actor: Actor, id: string) {
  const channel = await getChannelRow(db, actor, id);
  const [[flavour], history, byVersion, byResult] = await Promise.all([
    db.select({ id: flavours.id, name: flavours.name }).from(flavours).where(eq(flavours.id, channel.flavourId)),
    selectReleases(db).where(eq(releases.channelId, id)).orderBy(desc(releases.requestedAt)),
    db
      .select({ version: devices.currentVersion, count: sql<number>`count(*)::int` })
      .from(devices)
      .where(and(eq(devices.channelId, id), sql`${devices.revokedAt} is null`))
      .groupBy(devices.currentVersion)
      .orderBy(desc(sql`count(*)`)),
    db
      .select({ result: devices.lastResult, count: sql<number>`count(*)::int` })
      .from(devices)
      .where(and(eq(devices.channelId, id), sql`${devices.revokedAt} is null`))
      .groupBy(devices.lastResult),
  ]);
  const release = history.find((r) => r.id === channel.releaseId) ?? null;
  const previous = history.find((r) => r.id === channel.previousReleaseId) ?? null;
  const failures = release ? await failureShare(db, release.id, channel.reportsCountedFrom) : null;
  return {
    channel,
    flavour,
    release,
    previous,
    history,
    failures,
    devices: { byVersion, byResult, total: byVersion.reduce((n, r) => n + r.count, 0) },
  };
}

/** Distinct devices that reported on a release since `since`, and how many of them last reported a failure on it. */
export async function failureShare(db: DbOrTx, releaseId: string, since: Date): Promise<{ reported: number; failed: number }> {
  const result = await db.execute(sql`
    select count(*)::int as reported, count(*) filter (where result = 'failure')::int as failed
    from (select distinct on (device_id) device_id, result from device_reports
          where release_id = ${releaseId} and result <> 'none' and at >= ${since.toISOString()}::timestamptz
          order by device_id, at desc, id desc) last`);
  const row = result.rows[0] as { reported: number; failed: number };
  return { reported: Number(row.reported), failed: Number(row.failed) };
}

export async function updateChannel(db: DbOrTx, actor: Actor, id: string, input: unknown) {
  const data = parseInput(UpdateChannelInput, input);
  return db.transaction(async (tx) => {
    const before = await getChannelRow(tx, actor, id, { forUpdate: true });
    const [after] = await tx.update(channels).set(data).where(eq(channels.id, id)).returning();
    const pick = (c: Channel) => ({ description: c.description, failureThresholdPercent: c.failureThresholdPercent, failureMinReports: c.failureMinReports });
    await recordAudit(tx, actor, { orgId: before.orgId, action: "channel.update", subject: id, channelId: id, before: pick(before), after: pick(after) });
    return after;
  });
}

export async function pauseChannel(db: DbOrTx, actor: Actor, id: string, input: unknown) {
  requireAdmin(actor);
  const { reason } = parseInput(PauseInput, input);
  return db.transaction(async (tx) => {
    const before = await getChannelRow(tx, actor, id, { forUpdate: true });
    if (before.pausedAt) throw new ConflictError(`The channel ${before.name} is already paused.`);
    const [after] = await tx.update(channels).set({ pausedAt: new Date(), pauseReason: reason || null, sequence: nextSequence }).where(eq(channels.id, id)).returning();
    await notifyChannelChange(tx, id);
    await recordAudit(tx, actor, { orgId: before.orgId, action: "channel.pause", subject: id, channelId: id, before: { paused: false }, after: { paused: true, reason } });
    return after;
  });
}

/** Resumes a paused channel, or one whose rollout halted by itself. */
export async function resumeChannel(db: DbOrTx, actor: Actor, id: string) {
  requireAdmin(actor);
  return db.transaction(async (tx) => {
    const before = await getChannelRow(tx, actor, id, { forUpdate: true });
    if (!before.pausedAt && !before.haltedAt) throw new ConflictError(`The channel ${before.name} is neither paused nor halted.`);
    const [after] = await tx
      .update(channels)
      .set({ pausedAt: null, pauseReason: null, haltedAt: null, haltReason: null, reportsCountedFrom: new Date(), sequence: nextSequence })
      .where(eq(channels.id, id))
      .returning();
    await notifyChannelChange(tx, id);
    await recordAudit(tx, actor, {
      orgId: before.orgId,
      action: "channel.resume",
      subject: id,
      channelId: id,
      before: { paused: before.pausedAt !== null, halted: before.haltReason },
      after: { paused: false, halted: null },
    });
    return after;
  });
}

export async function setRollout(db: DbOrTx, actor: Actor, id: string, input: unknown) {
  requireAdmin(actor);
  const { percent } = parseInput(RolloutInput, input);
  return db.transaction(async (tx) => {
    const before = await getChannelRow(tx, actor, id, { forUpdate: true });
    if (!before.releaseId) throw new ConflictError(`The channel ${before.name} has no release to roll out yet.`);
    if (before.rolloutPercent === percent) throw new ConflictError(`The rollout is already at ${percent} %.`);
    const [after] = await tx.update(channels).set({ rolloutPercent: percent, sequence: nextSequence }).where(eq(channels.id, id)).returning();
    await notifyChannelChange(tx, id);
    await recordAudit(tx, actor, { orgId: before.orgId, action: "channel.rollout", subject: before.releaseId, channelId: id, before: { percent: before.rolloutPercent }, after: { percent } });
    return after;
  });
}

/** Makes an earlier approved release the channel's release again, for every device (100 %). */
export async function rollbackChannel(db: DbOrTx, actor: Actor, id: string, input: unknown) {
  requireAdmin(actor);
  const { releaseId } = parseInput(RollbackInput, input);
  return db.transaction(async (tx) => {
    const before = await getChannelRow(tx, actor, id, { forUpdate: true });
    if (before.releaseId === releaseId) throw new ConflictError("That release is the channel's current release already.");
    const rows = await tx
      .select({ id: releases.id, version: releases.version, status: releases.status, channelId: releases.channelId })
      .from(releases)
      .where(inArray(releases.id, [releaseId, ...(before.releaseId ? [before.releaseId] : [])]));
    const target = rows.find((r) => r.id === releaseId);
    if (!target || target.channelId !== id) throw new NotFoundError("No such release on this channel.");
    if (target.status !== "approved") throw new ValidationError(`Release ${target.version} was never approved; only an approved release can be rolled back to.`);
    const current = rows.find((r) => r.id === before.releaseId);
    const [after] = await tx
      .update(channels)
      .set({ releaseId, previousReleaseId: null, rolloutPercent: 100, haltedAt: null, haltReason: null, reportsCountedFrom: new Date(), sequence: nextSequence })
      .where(eq(channels.id, id))
      .returning();
    await notifyChannelChange(tx, id);
    await recordAudit(tx, actor, {
      orgId: before.orgId,
      action: "channel.rollback",
      subject: releaseId,
      channelId: id,
      before: { version: current?.version ?? null, percent: before.rolloutPercent },
      after: { version: target.version, percent: 100 },
    });
    return after;
  });
}

/** Every channel the actor can see (admins: all), with its flavour: the choices of "move device" and release forms. */
export async function listOrgChannels(db: DbOrTx, actor: Actor) {
  return db
    .select({ id: channels.id, name: channels.name, orgId: channels.orgId, flavour: { id: flavours.id, name: flavours.name } })
    .from(channels)
    .innerJoin(flavours, eq(flavours.id, channels.flavourId))
    .where(orgScope(actor, channels.orgId))
    .orderBy(asc(flavours.name), asc(channels.createdAt));
}
