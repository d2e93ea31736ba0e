// A device's status report: what it runs and how its last upgrade went. A failure share on the channel's current
// release above the channel's threshold halts the rollout, in the same transaction.
import { and, eq, isNull } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../db";
import { channels, deviceReports, devices, releases, UPGRADE_RESULTS } from "../db/schema";
import { parseInput } from "../validation";
import { recordAudit } from "../audit/audit";
import { failureShare, nextSequence } from "../channels/channels";
import { notifyChannelChange } from "./change-feed";

export const StatusInput = z
  .object({
    result: z.enum(UPGRADE_RESULTS, "result is success, failure or none"),
    currentDigest: z.string().regex(/^sha256:[a-f0-9]{64}$/, "currentDigest must be sha256:<64 hex>").nullable().optional(),
    version: z.string().trim().max(100, "version is at most 100 characters").nullable().optional(),
    releaseId: z.uuid("releaseId must be a release id").nullable().optional(),
    message: z.string().max(2000, "message is at most 2,000 characters").optional(),
    agentVersion: z.string().trim().max(100, "agentVersion is at most 100 characters").optional(),
  })
  .strict();

export interface ReportingDevice {
  id: string;
  orgId: string;
  channelId: string;
}

export async function reportStatus(db: Db, device: ReportingDevice, input: unknown): Promise<{ halted: string | null }> {
  const data = parseInput(StatusInput, input);
  return db.transaction(async (tx) => {
    // A release id counts only when it is one of the device's channel's releases.
    const [release] = data.releaseId
      ? await tx.select({ id: releases.id, version: releases.version }).from(releases).where(and(eq(releases.id, data.releaseId), eq(releases.channelId, device.channelId)))
      : [];
    const now = new Date();
    await tx.insert(deviceReports).values({ deviceId: device.id, channelId: device.channelId, releaseId: release?.id ?? null, result: data.result, digest: data.currentDigest ?? null, message: data.message ?? null, at: now });
    await tx
      .update(devices)
      .set({
        lastResult: data.result,
        lastMessage: data.message ?? null,
        lastReportAt: now,
        lastSeenAt: now,
        ...(data.currentDigest !== undefined ? { currentDigest: data.currentDigest } : {}),
        // A failure report names the release that failed to install, not what the device runs.
        ...(data.version !== undefined && data.result === "success" ? { currentVersion: data.version } : {}),
        ...(data.agentVersion !== undefined ? { agentVersion: data.agentVersion } : {}),
      })
      .where(eq(devices.id, device.id));
    // Any result can tip the share: failures that came before the minimum number of reports count once it is reached.
    if (data.result === "none" || !release) return { halted: null };
    // Locked so that two reports cannot both halt (and audit) the same rollout.
    const [channel] = await tx.select().from(channels).where(and(eq(channels.id, device.channelId), eq(channels.releaseId, release.id), isNull(channels.haltedAt))).for("update");
    if (!channel) return { halted: null };
    const { reported, failed } = await failureShare(tx, release.id, channel.reportsCountedFrom);
    if (reported < channel.failureMinReports || failed * 100 <= channel.failureThresholdPercent * reported) return { halted: null };
    const reason = `${failed} of ${reported} devices reported a failed upgrade to ${release.version} (${Math.round((failed * 100) / reported)} %, above the channel's ${channel.failureThresholdPercent} % with at least ${channel.failureMinReports} reports); the rollout stopped until an admin resumes it.`;
    await tx.update(channels).set({ haltedAt: now, haltReason: reason, sequence: nextSequence }).where(eq(channels.id, channel.id));
    await notifyChannelChange(tx, channel.id);
    await recordAudit(tx, null, { orgId: device.orgId, action: "channel.halt", subject: release.id, channelId: channel.id, before: { halted: null }, after: { halted: reason }, detail: { reported, failed } });
    return { halted: reason };
  });
}
