// What one build's steps may do to the worker and the engine, against the real PostgreSQL, dockerd and registry: the
// output limits (in all and per second), the worker's memory whatever a step prints, Cancel during a flood, the
// build's deadline and the disk a build container may fill.
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { and, count, eq, isNotNull } from "drizzle-orm";
import { closeTestDb, makeActor, testDb } from "../testing/fixtures";
import { publishTinyBase, startBuildTestStack, testBuildDeps, type BuildTestStack } from "../testing/build-deps";
import { buildLogs, builds } from "../db/schema";
import { createFlavour, saveRevision } from "../flavours/flavours";
import { cancelBuild, getBuild, startBuild } from "../builds/builds";
import { LABEL } from "./engine/images";
import { DEFAULT_OUTPUT_LIMITS, type OutputLimits } from "./limits";
import { runBuild, type BuildDeps } from "./run-build";
import type { Actor } from "../auth/actor";

process.env.DATABASE_URL = inject("databaseUrl");
const db = testDb();
const dataDir = path.resolve(".data/test");
const stamp = Date.now().toString(36);
const MB = 1024 * 1024;
let stack: BuildTestStack;
let customer: Actor;
let baseId: string;

beforeAll(async () => {
  stack = await startBuildTestStack(dataDir);
  customer = await makeActor(db);
  baseId = await publishTinyBase(db, { name: "limits-base", version: stamp, line: `limits ${stamp}`, file: "/etc/strata-limits" });
  // The base package is built (and the base image pushed to the shared cache) here, not inside a test.
  const warm = await createFlavour(db, customer, { baseManifestId: baseId, name: `limits-warm-${stamp}` });
  await runBuild(testBuildDeps({ db, docker: stack.docker, registryUrl: stack.registry.url, dataDir }), (await startBuild(db, customer, warm.id, {})).id);
}, 600_000);

afterAll(async () => {
  await closeTestDb();
  await stack?.stop();
});

/** A flavour of the tiny base with one layer running `steps`. */
async function flavourWith(name: string, steps: string[]) {
  const flavour = await createFlavour(db, customer, { baseManifestId: baseId, name: `limits-${name}-${stamp}` });
  await saveRevision(db, customer, flavour.id, { layers: [{ category: "layer", name, version: "1", steps }] });
  return flavour;
}

function deps(limits: { output?: Partial<OutputLimits>; deadlineMs?: number; diskBytes?: number } = {}): BuildDeps {
  const base = testBuildDeps({ db, docker: stack.docker, registryUrl: stack.registry.url, dataDir });
  return { ...base, limits: { ...base.limits, output: { ...DEFAULT_OUTPUT_LIMITS, ...limits.output }, deadlineMs: limits.deadlineMs, diskBytes: limits.diskBytes } };
}

async function build(flavourId: string, buildDeps: BuildDeps) {
  const started = await startBuild(db, customer, flavourId, {});
  await runBuild(buildDeps, started.id);
  return getBuild(db, customer, started.id);
}

/** The build's step output as stored (the worker's own "[strata]" lines have no package). */
async function storedOutput(buildId: string) {
  return db.select({ line: buildLogs.line }).from(buildLogs).where(and(eq(buildLogs.buildId, buildId), isNotNull(buildLogs.packageId)));
}

async function logLines(buildId: string) {
  return (await db.select({ line: buildLogs.line }).from(buildLogs).where(eq(buildLogs.buildId, buildId)).orderBy(buildLogs.id)).map((r) => r.line);
}

async function containersOf(buildId: string) {
  return stack.docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${LABEL.build}=${buildId}`] }) });
}

describe("output limits", () => {
  it("fails a step printing without end (yes) at the line limit, keeps at most the limit and removes the container", async () => {
    const flavour = await flavourWith("yes", ["yes"]);
    const result = await build(flavour.id, deps({ output: { maxLines: 5_000, linesPerSecond: 1_000_000 } }));
    expect(result.status).toBe("failed");
    expect(result.error).toBe(
      "layer/yes printed more than 5000 lines of output (the limit, STRATA_BUILD_LOG_MAX_LINES); print less, e.g. apt-get -q, or redirect to a file",
    );
    const stored = await storedOutput(result.id);
    expect(stored.length).toBeLessThanOrEqual(5_000);
    expect(stored.length).toBeGreaterThan(0);
    // The counters on the row follow the stored lines.
    const [row] = await db.select().from(builds).where(eq(builds.id, result.id));
    expect(row.logLines).toBe(stored.length);
    expect(row.logBytes).toBe(stored.reduce((sum, r) => sum + Buffer.byteLength(r.line) + 1, 0));
    expect(await containersOf(result.id)).toEqual([]);
  });

  it("fails a step printing long lines at the byte limit, with a message naming it", async () => {
    const flavour = await flavourWith("chatty", [`while true; do printf '%0200d\\n' 7; done`]);
    const result = await build(flavour.id, deps({ output: { maxBytes: 1 * MB, linesPerSecond: 1_000_000 } }));
    expect(result.status).toBe("failed");
    expect(result.error).toMatch(/^layer\/chatty printed more than 1 MB of output \(the limit, STRATA_BUILD_LOG_MAX_MB\); print less/);
    const [{ value }] = await db.select({ value: count() }).from(buildLogs).where(and(eq(buildLogs.buildId, result.id), isNotNull(buildLogs.packageId)));
    expect(value * 201).toBeLessThanOrEqual(1 * MB);
    // The reason is on the page's log too.
    expect((await logLines(result.id)).at(-1)).toMatch(/^\[strata\] build failed: layer\/chatty printed more than 1 MB/);
  });

  it("drops lines past the rate, records how many and says so in the log; the build still succeeds", async () => {
    const flavour = await flavourWith("burst", ["seq 1 5000"]);
    const result = await build(flavour.id, deps({ output: { linesPerSecond: 1_000 } }));
    expect(result.error).toBeNull();
    expect(result.status).toBe("succeeded");
    const [row] = await db.select().from(builds).where(eq(builds.id, result.id));
    expect(row.logDroppedLines).toBeGreaterThan(0);
    const numbers = (await storedOutput(result.id)).filter((r) => /^\d+$/.test(r.line));
    // Every line of the burst is either stored or counted as dropped.
    expect(numbers.length + row.logDroppedLines).toBe(5000);
    const notes = (await logLines(result.id)).filter((l) => / lines dropped: /.test(l));
    expect(notes.length).toBeGreaterThan(0);
    expect(notes.reduce((sum, l) => sum + Number(/^\[strata\] (\d+) lines dropped: the steps printed more than 1000 lines a second \(the limit, STRATA_BUILD_LOG_LINES_PER_S\)$/.exec(l)![1]), 0)).toBe(
      row.logDroppedLines,
    );
  });

  it("keeps the worker's memory bounded when a step prints a 200 MB line without newline", async () => {
    const flavour = await flavourWith("oneline", ["head -c 200000000 /dev/zero | tr '\\0' x"]);
    global.gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
    try {
      const result = await build(flavour.id, deps({ output: { maxBytes: 1024 * MB } }));
      expect(result.error).toBeNull();
      expect(result.status).toBe("succeeded");
    } finally {
      clearInterval(sampler);
    }
    // Generous: the line itself is 200 MB, and the worker must hold nowhere near it.
    expect(peak - before).toBeLessThan(150 * MB);
  });

  it("stops a build within 5 s when Cancel is pressed while a step floods the log", async () => {
    const flavour = await flavourWith("flood", ["yes 'a line of a flood that every rate lets through'"]);
    const started = await startBuild(db, customer, flavour.id, {});
    // Every line is stored (no rate limit, no total): the backlog is what must not delay the cancel.
    const running = runBuild(deps({ output: { maxBytes: 1024 ** 4, maxLines: 1e12, linesPerSecond: 1e9 } }), started.id);
    for (let i = 0; i < 400; i++) {
      const [row] = await db.select({ logLines: builds.logLines }).from(builds).where(eq(builds.id, started.id));
      if (row.logLines > 5_000) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const pressed = Date.now();
    await cancelBuild(db, customer, started.id);
    await running;
    expect(Date.now() - pressed).toBeLessThan(5_000);
    const result = await getBuild(db, customer, started.id);
    expect(result.status).toBe("cancelled");
    expect(result.logLines).toBeGreaterThan(5_000);
    expect(await containersOf(started.id)).toEqual([]);
  });
});

describe("the deadline", () => {
  it("fails a build that runs past it, whatever step runs, naming the limit", async () => {
    const flavour = await flavourWith("sleepy", ["sleep 600"]);
    const result = await build(flavour.id, deps({ deadlineMs: 5_000 }));
    expect(result.status).toBe("failed");
    expect(result.error).toMatch(/^The build did not finish within 5 s \(the limit, STRATA_BUILD_DEADLINE_S\) and was stopped/);
    expect(result.packages[1].status).toBe("failed");
    expect(await containersOf(result.id)).toEqual([]);
  });
});

describe("the disk limit", () => {
  it("kills a step that fills more than the limit while it runs, and says how the limit is kept", async () => {
    const flavour = await flavourWith("filler", ["fallocate -l 300M /big", "sleep 300"]);
    const result = await build(flavour.id, deps({ diskBytes: 100 * MB }));
    expect(result.status).toBe("failed");
    expect(result.error).toMatch(/^layer\/filler wrote more than 100 MB to the disk \(the limit, STRATA_BUILD_DISK_MB\)/);
    expect((await logLines(result.id)).some((l) => /^\[strata\] disk limit 100 MB a package \(STRATA_BUILD_DISK_MB\), kept by /.test(l))).toBe(true);
    expect(await containersOf(result.id)).toEqual([]);
  });

  it("fails a step that fills the disk and exits before the next measurement", async () => {
    const flavour = await flavourWith("quick-filler", ["dd if=/dev/zero of=/big bs=1M count=150 status=none"]);
    const result = await build(flavour.id, deps({ diskBytes: 100 * MB }));
    expect(result.status).toBe("failed");
    expect(result.error).toMatch(/^layer\/quick-filler wrote more than 100 MB to the disk \(the limit, STRATA_BUILD_DISK_MB\)/);
  });
});
