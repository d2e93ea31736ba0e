import { describe, expect, it } from "vitest";
import { buildChangeKey, type BuildSnapshot } from "./events";

const at = (s: number) => new Date(Date.UTC(2025, 0, 1, 12, 0, s));

function snapshot(): BuildSnapshot {
  return {
    id: "6f1c1f8e-0000-4000-8000-000000000001",
    orgId: "6f1c1f8e-0000-4000-8000-000000000002",
    flavourId: "6f1c1f8e-0000-4000-8000-000000000003",
    revisionId: "6f1c1f8e-0000-4000-8000-000000000004",
    revisionNumber: 2,
    version: "r2.1",
    repositoryRevision: null,
    status: "running",
    kind: "build",
    fromScratch: false,
    scheduled: false,
    parentBuildId: null,
    sourceReference: null,
    totalPackages: 2,
    donePackages: 1,
    currentPackage: "layer/greeting",
    phase: "building",
    phaseDetail: null,
    imageRef: null,
    imageDigest: null,
    imageSize: null,
    error: null,
    attempt: 1,
    retryOf: null,
    jobId: "job",
    startedBy: null,
    workerId: "worker:1",
    createdAt: at(0),
    startedAt: at(1),
    finishedAt: null,
    heartbeatAt: at(2),
    cancelRequestedAt: null,
    retryAt: null,
    retryReason: null,
    maxAttempts: 1,
    logBytes: 1200,
    logLines: 40,
    logDroppedLines: 0,
    startedByUser: null,
    packages: [
      { position: 0, packageId: "system/hello", version: "1", fromBase: true, status: "built", cached: false, cacheKey: "k0", step: 1, steps: 1, durationMs: 900, expectedMs: null, startedAt: at(1), previousArtefactDigest: null, changes: null, artefact: null },
      { position: 1, packageId: "layer/greeting", version: "1", fromBase: false, status: "running", cached: false, cacheKey: "k1", step: 1, steps: 3, durationMs: null, expectedMs: 4000, startedAt: at(2), previousArtefactDigest: null, changes: null, artefact: null },
    ],
  };
}

describe("buildChangeKey", () => {
  it("ignores the worker's heartbeat, so a quiet build sends no events", () => {
    const later = { ...snapshot(), heartbeatAt: at(30) };
    expect(buildChangeKey(later)).toBe(buildChangeKey(snapshot()));
  });

  it("ignores the log counters every log batch moves, but not the dropped lines the page shows", () => {
    expect(buildChangeKey({ ...snapshot(), logBytes: 99_000, logLines: 3_000 })).toBe(buildChangeKey(snapshot()));
    expect(buildChangeKey({ ...snapshot(), logDroppedLines: 10 })).not.toBe(buildChangeKey(snapshot()));
  });

  it("changes with the phase and its detail", () => {
    const before = buildChangeKey(snapshot());
    expect(buildChangeKey({ ...snapshot(), phase: "publishing" })).not.toBe(before);
    const pushing = { ...snapshot(), phase: "publishing" as const, phaseDetail: "pushing system/hello (1 MB of 4 MB)" };
    expect(buildChangeKey({ ...pushing, phaseDetail: "pushing system/hello (2 MB of 4 MB)" })).not.toBe(buildChangeKey(pushing));
  });

  it("changes when a finished package's artefact lands while the build runs", () => {
    const withArtefact = snapshot();
    withArtefact.packages[0] = { ...withArtefact.packages[0], artefact: { digest: `sha256:${"a".repeat(64)}`, size: 120, uncompressedSize: 300, fileCount: 1, compression: "gzip" } };
    expect(buildChangeKey(withArtefact)).not.toBe(buildChangeKey(snapshot()));
  });

  it("changes when a rebuilt package's comparison with the cached artefact lands", () => {
    const compared = snapshot();
    compared.packages[0] = { ...compared.packages[0], changes: { identical: false, added: 0, removed: 0, changed: 1, paths: [{ path: "/etc/stamp", change: "changed" }] } };
    expect(buildChangeKey(compared)).not.toBe(buildChangeKey(snapshot()));
  });

  it("changes with a package's step and status", () => {
    const stepped = snapshot();
    stepped.packages[1] = { ...stepped.packages[1], step: 2 };
    expect(buildChangeKey(stepped)).not.toBe(buildChangeKey(snapshot()));
    const failed = snapshot();
    failed.packages[1] = { ...failed.packages[1], status: "failed" };
    expect(buildChangeKey(failed)).not.toBe(buildChangeKey(snapshot()));
  });
});
