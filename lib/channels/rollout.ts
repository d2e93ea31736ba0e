// Whether a device is in a release's rollout: a stable hash of the device id and the release id, so the same device
// stays in (or out) while the percentage grows, and each release draws a different set of devices.
import crypto from "node:crypto";

/** 0–9999: the first 4 bytes of sha256("<deviceId>:<releaseId>") as an unsigned integer, modulo 10,000. */
export function rolloutBucket(deviceId: string, releaseId: string): number {
  return crypto.createHash("sha256").update(`${deviceId}:${releaseId}`).digest().readUInt32BE(0) % 10_000;
}

/** In when the bucket is below percent × 100: 25 % takes buckets 0–2499. Raising the percentage only adds devices. */
export function inRollout(deviceId: string, releaseId: string, percent: number): boolean {
  return rolloutBucket(deviceId, releaseId) < Math.round(percent * 100);
}
