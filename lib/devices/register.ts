// A device registers with a registration token and receives its id and secret (shown once, stored as sha256).
import crypto from "node:crypto";
import { eq, sql } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../db";
import { channels, devices, flavours, registrationTokens } from "../db/schema";
import { UnauthenticatedError } from "../errors";
import { parseInput } from "../validation";
import { recordAudit } from "../audit/audit";
import { signingKey } from "../channels/signing";
import { deviceName } from "./devices";
import { hashSecret, REGISTRATION_TOKEN_PREFIX } from "./registration-tokens";

export const DEVICE_SECRET_PREFIX = "strata_dev_";

export const RegisterInput = z
  .object({
    token: z.string().min(1, "token is required").max(200, "token is at most 200 characters"),
    name: deviceName,
    agentVersion: z.string().trim().max(100, "agentVersion is at most 100 characters").optional(),
  })
  .strict();

/** `publicKeyPem`: the key the documents this device will get are signed with (the device API's), which it pins. */
export async function registerDevice(db: Db, input: unknown, address: string | null, publicKeyPem: string = signingKey().publicKeyPem) {
  const data = parseInput(RegisterInput, input);
  const refused = (why: string) => new UnauthenticatedError(`The registration token ${why}; ask for a new one on the channel's page.`);
  if (!data.token.startsWith(REGISTRATION_TOKEN_PREFIX)) throw refused("is not a Strata registration token (they start with strata_reg_)");
  const secret = DEVICE_SECRET_PREFIX + crypto.randomBytes(32).toString("base64url");
  return db.transaction(async (tx) => {
    // Locked: two devices racing for the last use of a token cannot both get it.
    const [token] = await tx.select().from(registrationTokens).where(eq(registrationTokens.tokenHash, hashSecret(data.token))).for("update");
    if (!token) throw refused("is unknown");
    if (token.revokedAt) throw refused("was revoked");
    if (token.expiresAt && token.expiresAt.getTime() <= Date.now()) throw refused(`expired on ${token.expiresAt.toISOString()}`);
    if (token.maxUses !== null && token.uses >= token.maxUses) throw refused(`is used up (${token.uses} of ${token.maxUses} devices)`);
    await tx.update(registrationTokens).set({ uses: sql`${registrationTokens.uses} + 1`, lastUsedAt: new Date() }).where(eq(registrationTokens.id, token.id));
    const [device] = await tx
      .insert(devices)
      .values({ orgId: token.orgId, channelId: token.channelId, name: data.name, secretHash: hashSecret(secret), registrationTokenId: token.id, agentVersion: data.agentVersion ?? null, lastAddress: address, lastSeenAt: new Date() })
      .returning({ id: devices.id });
    const [channel] = await tx
      .select({ id: channels.id, name: channels.name, flavour: { id: flavours.id, name: flavours.name } })
      .from(channels)
      .innerJoin(flavours, eq(flavours.id, channels.flavourId))
      .where(eq(channels.id, token.channelId));
    await recordAudit(tx, null, { orgId: token.orgId, action: "device.register", subject: device.id, channelId: token.channelId, after: { name: data.name }, detail: { token: token.name, address } });
    return {
      deviceId: device.id,
      secret,
      channel: { id: channel.id, name: channel.name },
      flavour: channel.flavour,
      publicKey: publicKeyPem,
    };
  });
}
