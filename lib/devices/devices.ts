// The device inventory and what customers do with a device: rename, pin to an image reference (overriding its
// channel), unpin, move to another channel, revoke. Pins and moves bump the device's document sequence.
import { and, desc, eq, isNull, sql } from "drizzle-orm";
import { z } from "zod";
import type { DbOrTx } from "../db";
import { channels, devices, flavours, type Device } from "../db/schema";
import type { Actor } from "../auth/actor";
import { orgScope } from "../auth/roles";
import { ConflictError, NotFoundError, ValidationError } from "../errors";
import { parseInput } from "../validation";
import { recordAudit } from "../audit/audit";
import { getChannelRow, nextSequence } from "../channels/channels";
import { parseImageReference } from "./image-reference";
import { notifyDeviceChange } from "./change-feed";
import { afterKey, cursorTime, cursorTimeSchema, cursorUuidSchema, decodeCursor, toPage } from "../api/cursor";

export const DEVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9._ -]*$/;
export const deviceName = z.string().trim().min(1, "name is required").max(100, "name is at most 100 characters").regex(DEVICE_NAME, "name may hold letters, digits, space, dot, dash and underscore");

export const UpdateDeviceInput = z
  .object({
    name: deviceName.optional(),
    /** An image reference to pin to; null unpins. */
    pinnedReference: z
      .string()
      .trim()
      .max(500, "pinnedReference is at most 500 characters")
      .superRefine((v, ctx) => {
        const parsed = parseImageReference(v);
        if ("error" in parsed) ctx.addIssue({ code: "custom", message: parsed.error });
      })
      .nullable()
      .optional(),
    channelId: z.uuid("channelId must be a channel id").optional(),
  })
  .strict()
  .refine((v) => Object.keys(v).length > 0, "send name, pinnedReference or channelId");

const ListDevicesInput = z.object({
  channelId: z.uuid("channel must be a channel id").optional(),
  flavourId: z.uuid("flavour must be a flavour id").optional(),
  includeRevoked: z.enum(["0", "1"]).optional(),
  cursor: z.string().optional(),
  limit: z.number().int().min(1, "limit is 1–100").max(100, "limit is 1–100").default(50),
});

export const deviceColumns = {
  id: devices.id,
  name: devices.name,
  orgId: devices.orgId,
  channel: { id: channels.id, name: channels.name },
  flavour: { id: flavours.id, name: flavours.name },
  pinnedReference: devices.pinnedReference,
  registeredAt: devices.registeredAt,
  lastSeenAt: devices.lastSeenAt,
  lastAddress: devices.lastAddress,
  currentDigest: devices.currentDigest,
  currentVersion: devices.currentVersion,
  lastResult: devices.lastResult,
  lastMessage: devices.lastMessage,
  lastReportAt: devices.lastReportAt,
  agentVersion: devices.agentVersion,
  revokedAt: devices.revokedAt,
};

/** A page of the inventory, the latest registered first; `next` is the cursor of the following page. */
export async function listDevices(db: DbOrTx, actor: Actor, input: unknown = {}) {
  const { channelId, flavourId, includeRevoked, cursor, limit } = parseInput(ListDevicesInput, input);
  const after = decodeCursor("devices", cursor, z.tuple([cursorTimeSchema, cursorUuidSchema]));
  const rows = await db
    .select({ ...deviceColumns, cursorAt: cursorTime(devices.registeredAt) })
    .from(devices)
    .innerJoin(channels, eq(channels.id, devices.channelId))
    .innerJoin(flavours, eq(flavours.id, channels.flavourId))
    .where(
      and(
        orgScope(actor, devices.orgId),
        channelId ? eq(devices.channelId, channelId) : undefined,
        flavourId ? eq(channels.flavourId, flavourId) : undefined,
        includeRevoked === "1" ? undefined : isNull(devices.revokedAt),
        after ? afterKey([devices.registeredAt, devices.id], after, ["timestamptz", "uuid"], true) : undefined,
      ),
    )
    // (registered_at, id) through devices_org_idx; the id breaks ties.
    .orderBy(desc(devices.registeredAt), desc(devices.id))
    .limit(limit + 1);
  const { items, next } = toPage(rows, limit, "devices", (r) => [r.cursorAt, r.id]);
  return { devices: items.map(({ cursorAt: _, ...device }) => device), next };
}

async function getDeviceRow(db: DbOrTx, actor: Actor, id: string, opts: { forUpdate?: boolean } = {}): Promise<Device> {
  if (!z.uuid().safeParse(id).success) throw new NotFoundError("No such device.");
  const query = db.select().from(devices).where(and(eq(devices.id, id), orgScope(actor, devices.orgId)));
  const [row] = opts.forUpdate ? await query.for("update") : await query;
  if (!row) throw new NotFoundError("No such device.");
  return row;
}

export async function getDevice(db: DbOrTx, actor: Actor, id: string) {
  await getDeviceRow(db, actor, id);
  const [row] = await db.select(deviceColumns).from(devices).innerJoin(channels, eq(channels.id, devices.channelId)).innerJoin(flavours, eq(flavours.id, channels.flavourId)).where(eq(devices.id, id));
  return row;
}

export async function updateDevice(db: DbOrTx, actor: Actor, id: string, input: unknown) {
  const data = parseInput(UpdateDeviceInput, input);
  return db.transaction(async (tx) => {
    const before = await getDeviceRow(tx, actor, id, { forUpdate: true });
    if (before.revokedAt) throw new ConflictError("The device is revoked; register it again with a new token.");
    const set: Record<string, unknown> = {};
    if (data.name !== undefined && data.name !== before.name) {
      set.name = data.name;
      await recordAudit(tx, actor, { orgId: before.orgId, action: "device.rename", subject: id, channelId: before.channelId, before: { name: before.name }, after: { name: data.name } });
    }
    if (data.pinnedReference !== undefined && data.pinnedReference !== before.pinnedReference) {
      set.pinnedReference = data.pinnedReference;
      set.sequence = nextSequence;
      await recordAudit(tx, actor, {
        orgId: before.orgId,
        action: data.pinnedReference === null ? "device.unpin" : "device.pin",
        subject: id,
        channelId: before.channelId,
        before: { pinnedReference: before.pinnedReference },
        after: { pinnedReference: data.pinnedReference },
        detail: { device: before.name },
      });
    }
    if (data.channelId !== undefined && data.channelId !== before.channelId) {
      const target = await getChannelRow(tx, actor, data.channelId).catch(() => {
        throw new ValidationError("channelId: no such channel.", { issues: [{ path: "channelId", message: "no such channel" }] });
      });
      if (target.orgId !== before.orgId) throw new ValidationError("channelId: no such channel.", { issues: [{ path: "channelId", message: "no such channel" }] });
      const [from] = await tx.select({ name: channels.name }).from(channels).where(eq(channels.id, before.channelId));
      set.channelId = target.id;
      set.sequence = nextSequence;
      // Recorded on both channels' pages.
      for (const channelId of [before.channelId, target.id]) {
        await recordAudit(tx, actor, { orgId: before.orgId, action: "device.move", subject: id, channelId, before: { channel: from.name }, after: { channel: target.name }, detail: { device: before.name } });
      }
    }
    if (Object.keys(set).length > 0) {
      await tx.update(devices).set(set as never).where(eq(devices.id, id));
      await notifyDeviceChange(tx, id);
    }
    return getDevice(tx, actor, id);
  });
}

export async function revokeDevice(db: DbOrTx, actor: Actor, id: string) {
  return db.transaction(async (tx) => {
    const before = await getDeviceRow(tx, actor, id, { forUpdate: true });
    if (before.revokedAt) throw new ConflictError("The device is revoked already.");
    await tx.update(devices).set({ revokedAt: new Date() }).where(eq(devices.id, id));
    await notifyDeviceChange(tx, id);
    await recordAudit(tx, actor, { orgId: before.orgId, action: "device.revoke", subject: id, channelId: before.channelId, before: { revoked: false }, after: { revoked: true }, detail: { device: before.name } });
    return getDevice(tx, actor, id);
  });
}

/** Devices by last upgrade result and by version for an organisation (admins: all): the dashboard's figures. */
export async function deviceCounts(db: DbOrTx, actor: Actor) {
  const [row] = await db
    .select({ total: sql<number>`count(*)::int`, failed: sql<number>`count(*) filter (where ${devices.lastResult} = 'failure')::int` })
    .from(devices)
    .where(and(orgScope(actor, devices.orgId), isNull(devices.revokedAt)));
  return row;
}
