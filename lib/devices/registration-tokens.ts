// Registration tokens: a device joins a channel with one. Shown once, stored as sha256, with an optional expiry and
// use limit, revocable; every change is audited on the channel.
import crypto from "node:crypto";
import { and, desc, eq, isNull } from "drizzle-orm";
import { z } from "zod";
import type { DbOrTx } from "../db";
import { registrationTokens } from "../db/schema";
import type { Actor } from "../auth/actor";
import { orgScope } from "../auth/roles";
import { NotFoundError } from "../errors";
import { parseInput } from "../validation";
import { recordAudit } from "../audit/audit";
import { getChannelRow } from "../channels/channels";

export const REGISTRATION_TOKEN_PREFIX = "strata_reg_";

export const hashSecret = (secret: string) => crypto.createHash("sha256").update(secret).digest("hex");

export const CreateRegistrationTokenInput = z
  .object({
    name: z.string().trim().min(1, "name is required").max(100, "name is at most 100 characters"),
    /** Days until it expires; left out: never. */
    expiresInDays: z.number().int("expiresInDays is a whole number").min(1, "expiresInDays is 1–3650").max(3650, "expiresInDays is 1–3650").optional(),
    /** Devices it may register; left out: any number. */
    maxUses: z.number().int("maxUses is a whole number").min(1, "maxUses is at least 1").max(1_000_000).optional(),
  })
  .strict();

const summary = {
  id: registrationTokens.id,
  channelId: registrationTokens.channelId,
  name: registrationTokens.name,
  prefix: registrationTokens.prefix,
  expiresAt: registrationTokens.expiresAt,
  maxUses: registrationTokens.maxUses,
  uses: registrationTokens.uses,
  lastUsedAt: registrationTokens.lastUsedAt,
  revokedAt: registrationTokens.revokedAt,
  createdAt: registrationTokens.createdAt,
};

export async function createRegistrationToken(db: DbOrTx, actor: Actor, channelId: string, input: unknown) {
  const data = parseInput(CreateRegistrationTokenInput, input);
  const token = REGISTRATION_TOKEN_PREFIX + crypto.randomBytes(32).toString("base64url");
  return db.transaction(async (tx) => {
    const channel = await getChannelRow(tx, actor, channelId);
    const [row] = await tx
      .insert(registrationTokens)
      .values({
        orgId: channel.orgId,
        channelId,
        name: data.name,
        prefix: token.slice(0, REGISTRATION_TOKEN_PREFIX.length + 6),
        tokenHash: hashSecret(token),
        expiresAt: data.expiresInDays ? new Date(Date.now() + data.expiresInDays * 86_400_000) : null,
        maxUses: data.maxUses ?? null,
        createdBy: actor.user.id,
      })
      .returning(summary);
    await recordAudit(tx, actor, { orgId: channel.orgId, action: "registration-token.create", subject: row.id, channelId, before: null, after: { name: row.name, expiresAt: row.expiresAt, maxUses: row.maxUses } });
    return { token, summary: row };
  });
}

export async function listRegistrationTokens(db: DbOrTx, actor: Actor, channelId: string) {
  await getChannelRow(db, actor, channelId);
  return db.select(summary).from(registrationTokens).where(eq(registrationTokens.channelId, channelId)).orderBy(desc(registrationTokens.createdAt));
}

export async function revokeRegistrationToken(db: DbOrTx, actor: Actor, id: string) {
  if (!z.uuid().safeParse(id).success) throw new NotFoundError("No such registration token.");
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(registrationTokens)
      .set({ revokedAt: new Date() })
      .where(and(eq(registrationTokens.id, id), orgScope(actor, registrationTokens.orgId), isNull(registrationTokens.revokedAt)))
      .returning({ ...summary, orgId: registrationTokens.orgId });
    if (!row) throw new NotFoundError("No such registration token, or it is revoked already.");
    await recordAudit(tx, actor, { orgId: row.orgId, action: "registration-token.revoke", subject: id, channelId: row.channelId, before: { revoked: false }, after: { revoked: true, name: row.name } });
    return row;
  });
}
