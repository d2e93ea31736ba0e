import crypto from "node:crypto";
import { describe, expect, it } from "vitest";
import { inRollout, rolloutBucket } from "./rollout";

const deviceIds = Array.from({ length: 10_000 }, () => crypto.randomUUID());

describe("rollout buckets", () => {
  it("puts 25 % ± 2 of 10,000 devices into a 25 % rollout", () => {
    const release = crypto.randomUUID();
    const share = deviceIds.filter((d) => inRollout(d, release, 25)).length / deviceIds.length;
    expect(share).toBeGreaterThan(0.23);
    expect(share).toBeLessThan(0.27);
  });

  it("keeps every device that was in when the rollout grows from 25 to 50 %, and adds about as many again", () => {
    const release = crypto.randomUUID();
    const at25 = deviceIds.filter((d) => inRollout(d, release, 25));
    const at50 = new Set(deviceIds.filter((d) => inRollout(d, release, 50)));
    for (const d of at25) expect(at50.has(d)).toBe(true);
    expect(at50.size / deviceIds.length).toBeGreaterThan(0.48);
    expect(at50.size / deviceIds.length).toBeLessThan(0.52);
  });

  it("gives a device the same bucket every time, and draws a different set of devices for each release", () => {
    const [a, b] = [crypto.randomUUID(), crypto.randomUUID()];
    const device = deviceIds[0];
    expect(rolloutBucket(device, a)).toBe(rolloutBucket(device, a));
    const inA = deviceIds.filter((d) => inRollout(d, a, 25));
    const alsoInB = inA.filter((d) => inRollout(d, b, 25)).length / inA.length;
    // Independent draws overlap by about the percentage itself, not by all of it.
    expect(alsoInB).toBeGreaterThan(0.2);
    expect(alsoInB).toBeLessThan(0.3);
  });

  it("takes no device at 0 % and every device at 100 %", () => {
    const release = crypto.randomUUID();
    expect(deviceIds.some((d) => inRollout(d, release, 0))).toBe(false);
    expect(deviceIds.every((d) => inRollout(d, release, 100))).toBe(true);
    for (const d of deviceIds.slice(0, 100)) expect(rolloutBucket(d, release)).toBeGreaterThanOrEqual(0);
    for (const d of deviceIds.slice(0, 100)) expect(rolloutBucket(d, release)).toBeLessThan(10_000);
  });
});
