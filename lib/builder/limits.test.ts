import { describe, expect, it } from "vitest";
import { buildLimits } from "./limits";

const GiB = 1024 ** 3;
const machine = { cpus: 2, memoryBytes: 24 * GiB };

describe("buildLimits", () => {
  it("gives one build the whole machine's CPUs and three quarters of its memory by default", () => {
    expect(buildLimits(machine, {})).toEqual({ nanoCpus: 2e9, memoryBytes: 18 * GiB, pidsLimit: 512, stepTimeoutMs: 1_800_000 });
  });

  it("shares the machine between the builds a worker runs at once", () => {
    const limits = buildLimits({ cpus: 8, memoryBytes: 16 * GiB }, { STRATA_WORKER_CONCURRENCY: "4" });
    expect(limits.nanoCpus).toBe(2e9);
    expect(limits.memoryBytes).toBe(3 * GiB);
  });

  it("takes explicit settings over the machine's size", () => {
    const limits = buildLimits(machine, { STRATA_BUILD_CPUS: "1.5", STRATA_BUILD_MEMORY_MB: "1024", STRATA_BUILD_PIDS: "64", STRATA_BUILD_STEP_TIMEOUT_S: "60" });
    expect(limits).toEqual({ nanoCpus: 1.5e9, memoryBytes: GiB, pidsLimit: 64, stepTimeoutMs: 60_000 });
  });

  it("refuses a setting that is not a positive number, naming it", () => {
    expect(() => buildLimits(machine, { STRATA_BUILD_CPUS: "two" })).toThrow(/STRATA_BUILD_CPUS must be a positive number/);
    expect(() => buildLimits(machine, { STRATA_BUILD_MEMORY_MB: "0" })).toThrow(/STRATA_BUILD_MEMORY_MB/);
  });
});
