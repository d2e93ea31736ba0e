import { describe, expect, it } from "vitest";
import { buildProgress, CACHED_PACKAGE_MS, describePhase, describeTimeLeft, formatTimeLeft, packageWeights, UNKNOWN_PACKAGE_MS, type ProgressPackage } from "./progress";

const T0 = Date.parse("2025-01-01T12:00:00Z");
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();
const pkg = (status: ProgressPackage["status"], expectedMs: number | null, startedAt: string | null = null): ProgressPackage => ({ status, expectedMs, startedAt });
const running = (packages: ProgressPackage[], phase: "preparing" | "building" | "publishing" | null = "building") => ({ status: "running" as const, phase, packages });

describe("packageWeights", () => {
  it("weighs a package by its expected time", () => {
    expect(packageWeights([{ expectedMs: 60_000 }, { expectedMs: 5_000 }])).toEqual([60_000, 5_000]);
  });

  it("weighs a cached key as small, whatever the others take", () => {
    expect(packageWeights([{ expectedMs: 0 }, { expectedMs: 600_000 }])).toEqual([CACHED_PACKAGE_MS, 600_000]);
  });

  it("gives an unknown package the mean of the known non-zero ones", () => {
    expect(packageWeights([{ expectedMs: 10_000 }, { expectedMs: 0 }, { expectedMs: 50_000 }, { expectedMs: null }])).toEqual([10_000, CACHED_PACKAGE_MS, 50_000, 30_000]);
  });

  it("assumes 30 s for unknown packages when nothing is known", () => {
    expect(packageWeights([{ expectedMs: null }, { expectedMs: 0 }])).toEqual([UNKNOWN_PACKAGE_MS, CACHED_PACKAGE_MS]);
  });
});

describe("buildProgress", () => {
  it("moves by expected time, not by package count", () => {
    // Two of three packages done, but they were the quick ones: a tenth of the work.
    const progress = buildProgress(running([pkg("cached", 0), pkg("built", 9_000), pkg("pending", 90_000)]), T0);
    expect(progress.done).toBe(2);
    expect(progress.total).toBe(3);
    expect(progress.fraction).toBeCloseTo(10_000 / 100_000);
    expect(progress.remainingMs).toBe(90_000);
  });

  it("counts the time already spent in the running package", () => {
    const packages = [pkg("built", 20_000), pkg("running", 60_000, at(0)), pkg("pending", 20_000)];
    const justStarted = buildProgress(running(packages), T0);
    const later = buildProgress(running(packages), T0 + 45_000);
    expect(justStarted.remainingMs).toBe(80_000);
    expect(later.remainingMs).toBe(35_000);
    expect(later.fraction).toBeCloseTo(65_000 / 100_000);
    expect(later.overrun).toBe(false);
  });

  it("holds the bar and says so when the running package overruns its expected time", () => {
    const packages = [pkg("built", 20_000), pkg("running", 60_000, at(0)), pkg("pending", 20_000)];
    const progress = buildProgress(running(packages), T0 + 300_000);
    expect(progress.fraction).toBeCloseTo(80_000 / 100_000);
    expect(progress.remainingMs).toBe(20_000);
    expect(progress.overrun).toBe(true);
    expect(describeTimeLeft(progress)).toBe("taking longer than expected");
  });

  it("counts no time in the running package before the page has a clock", () => {
    const progress = buildProgress(running([pkg("running", 60_000, at(0))]), null);
    expect(progress.fraction).toBe(0);
    expect(progress.remainingMs).toBe(60_000);
  });

  it("estimates the whole build while preparing", () => {
    const progress = buildProgress(running([pkg("pending", 60_000), pkg("pending", null), pkg("pending", 0)], "preparing"), T0);
    expect(progress.fraction).toBe(0);
    expect(progress.remainingMs).toBe(60_000 + 60_000 + CACHED_PACKAGE_MS);
  });

  it("makes no estimate while publishing, whose length is not known ahead", () => {
    const progress = buildProgress(running([pkg("built", 10_000), pkg("built", 10_000)], "publishing"), T0);
    expect(progress.fraction).toBe(1);
    expect(progress.remainingMs).toBeNull();
    expect(describeTimeLeft(progress)).toBeNull();
  });

  it("is complete once the build succeeded and makes no estimate for a final build", () => {
    expect(buildProgress({ status: "succeeded", phase: null, packages: [pkg("built", 10_000)] }, T0)).toEqual({ fraction: 1, done: 1, total: 1, remainingMs: null, overrun: false });
    const failed = buildProgress({ status: "failed", phase: null, packages: [pkg("built", 10_000), pkg("failed", 30_000), pkg("cancelled", 60_000)] }, T0);
    expect(failed.fraction).toBeCloseTo(0.1);
    expect(failed.remainingMs).toBeNull();
  });

  it("makes no estimate for a queued build", () => {
    const progress = buildProgress({ status: "queued", phase: null, packages: [pkg("pending", 10_000)] }, T0);
    expect(progress.fraction).toBe(0);
    expect(progress.remainingMs).toBeNull();
  });
});

describe("time left in words", () => {
  it.each([
    [0, "a few seconds left"],
    [9_999, "a few seconds left"],
    [45_000, "less than a minute left"],
    [60_000, "about 1 min left"],
    [150_000, "about 3 min left"],
    [59 * 60_000, "about 59 min left"],
    [3_600_000, "about 1 h left"],
    [3_600_000 + 25 * 60_000, "about 1 h 25 min left"],
  ])("%d ms → %s", (ms, words) => expect(formatTimeLeft(ms)).toBe(words));

  it("still counts down the packages after one that overruns", () => {
    expect(describeTimeLeft({ fraction: 0.5, done: 1, total: 3, remainingMs: 120_000, overrun: true })).toBe("about 2 min left");
  });
});

describe("describePhase", () => {
  it("names the phases around the packages with their detail", () => {
    expect(describePhase("publishing", "pushing system/kernel (312 MB of 412 MB)")).toBe("Publishing — pushing system/kernel (312 MB of 412 MB)");
    expect(describePhase("preparing", "making the base image")).toBe("Preparing — making the base image");
    expect(describePhase("publishing", null)).toBe("Publishing");
  });

  it("leaves the building phase and final builds to the package line", () => {
    expect(describePhase("building", "anything")).toBeNull();
    expect(describePhase(null, null)).toBeNull();
  });
});
