import { describe, expect, it } from "vitest";
import { buildLimits, deadlineMessage, DiskLimitError, OutputLimitError } from "./limits";

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const machine = { cpus: 2, memoryBytes: 24 * GiB };

describe("buildLimits", () => {
  it("gives one build the whole machine's CPUs and three quarters of its memory by default, and a shared farm's output, time and disk limits", () => {
    expect(buildLimits(machine, {})).toEqual({
      nanoCpus: 2e9,
      memoryBytes: 18 * GiB,
      pidsLimit: 512,
      stepTimeoutMs: 1_800_000,
      output: { maxBytes: 50 * MiB, maxLines: 200_000, linesPerSecond: 2_000 },
      deadlineMs: 4 * 3600_000,
      diskBytes: 20_480 * MiB,
    });
  });

  it("shares the machine between the builds a worker runs at once", () => {
    const limits = buildLimits({ cpus: 8, memoryBytes: 16 * GiB }, { STRATA_WORKER_CONCURRENCY: "4" });
    expect(limits.nanoCpus).toBe(2e9);
    expect(limits.memoryBytes).toBe(3 * GiB);
  });

  it("takes explicit settings over the machine's size", () => {
    const limits = buildLimits(machine, { STRATA_BUILD_CPUS: "1.5", STRATA_BUILD_MEMORY_MB: "1024", STRATA_BUILD_PIDS: "64", STRATA_BUILD_STEP_TIMEOUT_S: "60" });
    expect(limits).toMatchObject({ nanoCpus: 1.5e9, memoryBytes: GiB, pidsLimit: 64, stepTimeoutMs: 60_000 });
  });

  it("takes the output, deadline and disk settings", () => {
    const limits = buildLimits(machine, {
      STRATA_BUILD_LOG_MAX_MB: "0.5",
      STRATA_BUILD_LOG_MAX_LINES: "1000",
      STRATA_BUILD_LOG_LINES_PER_S: "50",
      STRATA_BUILD_DEADLINE_S: "90",
      STRATA_BUILD_DISK_MB: "100",
    });
    expect(limits.output).toEqual({ maxBytes: 512 * 1024, maxLines: 1000, linesPerSecond: 50 });
    expect(limits.deadlineMs).toBe(90_000);
    expect(limits.diskBytes).toBe(100 * MiB);
  });

  it("refuses a setting that is not a positive number, naming it", () => {
    expect(() => buildLimits(machine, { STRATA_BUILD_CPUS: "two" })).toThrow(/STRATA_BUILD_CPUS must be a positive number/);
    expect(() => buildLimits(machine, { STRATA_BUILD_MEMORY_MB: "0" })).toThrow(/STRATA_BUILD_MEMORY_MB/);
    expect(() => buildLimits(machine, { STRATA_BUILD_LOG_MAX_MB: "-1" })).toThrow(/STRATA_BUILD_LOG_MAX_MB must be a positive number, got "-1"/);
    expect(() => buildLimits(machine, { STRATA_BUILD_DEADLINE_S: "4h" })).toThrow(/STRATA_BUILD_DEADLINE_S must be a positive number/);
    expect(() => buildLimits(machine, { STRATA_BUILD_DISK_MB: "lots" })).toThrow(/STRATA_BUILD_DISK_MB/);
  });

  it("refuses a line count that is not a whole number", () => {
    expect(() => buildLimits(machine, { STRATA_BUILD_LOG_MAX_LINES: "1.5" })).toThrow(/STRATA_BUILD_LOG_MAX_LINES must be a whole number/);
    expect(() => buildLimits(machine, { STRATA_BUILD_LOG_LINES_PER_S: "0" })).toThrow(/STRATA_BUILD_LOG_LINES_PER_S/);
  });
});

describe("limit messages", () => {
  it("say what happened, name the setting and what to do", () => {
    expect(new OutputLimitError("layer/x", "bytes", 50 * MiB).message).toBe(
      "layer/x printed more than 50 MB of output (the limit, STRATA_BUILD_LOG_MAX_MB); print less, e.g. apt-get -q, or redirect to a file",
    );
    expect(new OutputLimitError("layer/x", "lines", 200_000).message).toMatch(/^layer\/x printed more than 200000 lines of output \(the limit, STRATA_BUILD_LOG_MAX_LINES\)/);
    expect(new DiskLimitError("layer/x", 20_480 * MiB).message).toMatch(/^layer\/x wrote more than 20480 MB to the disk \(the limit, STRATA_BUILD_DISK_MB\)/);
    expect(deadlineMessage(4 * 3600_000)).toMatch(/did not finish within 4 h \(the limit, STRATA_BUILD_DEADLINE_S\)/);
    expect(deadlineMessage(5_000)).toMatch(/within 5 s/);
  });
});
