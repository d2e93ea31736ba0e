// Nothing leaked: a worker killed with SIGKILL mid-step leaves a build that the next worker fails at once and whose
// container it removes; the periodic sweep removes leftovers of builds not running on a live worker and loose ones
// (an exited base-image container), and leaves alone what a live build or the disk image maker still uses.
// The workers here are the real worker process (workers/index.ts) against the test database, engine and registry.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { eq } from "drizzle-orm";
import type Dockerode from "dockerode";
import { closeTestDb, makeActor, testDb } from "../testing/fixtures";
import { publishTinyBase, startBuildTestStack, type BuildTestStack } from "../testing/build-deps";
import { builds } from "../db/schema";
import { createFlavour, saveRevision } from "../flavours/flavours";
import { getBuild, startBuild } from "../builds/builds";
import type { Actor } from "../auth/actor";
import { LABEL } from "./engine/images";
import { defaultWorkerId } from "./run-build";
import { sweepOrphans } from "./housekeeping";

const databaseUrl = inject("databaseUrl");
process.env.DATABASE_URL = databaseUrl;
const db = testDb();
const dataDir = path.resolve(".data/test");
const stamp = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
let stack: BuildTestStack;
let docker: Dockerode;
let customer: Actor;
let baseManifestId: string;
const workers: ChildProcess[] = [];
/** Containers this file made by hand; removed at the end whatever the sweep did. */
const made: string[] = [];

/** The real worker, as `npm run worker` starts it, in a process group of its own (tsx runs node as its child). */
function startWorker(name: string): ChildProcess {
  const workerData = path.join(dataDir, `leaks-${stamp}`);
  fs.mkdirSync(workerData, { recursive: true });
  const child = spawn(path.resolve("node_modules/.bin/tsx"), ["workers/index.ts"], {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, DATABASE_URL: databaseUrl, REGISTRY_URL: stack.registry.url, STRATA_DATA_DIR: workerData },
  });
  const output: string[] = [];
  const keep = (d: Buffer) => output.push(...d.toString().split("\n").filter(Boolean).map((l) => `${name}: ${l}`));
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  (child as ChildProcess & { output: string[] }).output = output;
  workers.push(child);
  return child;
}

const exited = (child: ChildProcess) => (child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => child.once("exit", () => r())));

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(250);
  }
  throw new Error(`timed out waiting until ${what}\n${workers.flatMap((w) => (w as ChildProcess & { output?: string[] }).output ?? []).slice(-40).join("\n")}`);
}

const labelled = (buildId: string) => JSON.stringify({ label: [`${LABEL.build}=${buildId}`] });
const containersOf = (buildId: string) => docker.listContainers({ all: true, filters: labelled(buildId) });
const imagesOf = async (buildId: string) =>
  // Temporary images only: a tagged cache image (strata-cache:<key>) is the cache, kept on purpose.
  (await docker.listImages({ all: true, filters: labelled(buildId) })).filter((i) => !(i.RepoTags ?? []).some((t) => t.startsWith("strata-cache:")));

beforeAll(async () => {
  stack = await startBuildTestStack(dataDir);
  docker = stack.docker;
  customer = await makeActor(db);
  baseManifestId = await publishTinyBase(db, { name: `leaks-base-${stamp}`, version: "1", line: `hello ${stamp}` });
}, 600_000);

/** Stops every worker this file started (SIGTERM to its process group, as Ctrl-C would). */
async function stopWorkers() {
  for (const child of workers) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid!, "SIGTERM");
      } catch {
        // already gone
      }
      await Promise.race([exited(child), sleep(35_000)]);
    }
  }
}

afterAll(async () => {
  await stopWorkers();
  for (const id of made) await docker?.getContainer(id).remove({ force: true }).catch(() => {});
  fs.rmSync(path.join(dataDir, `leaks-${stamp}`), { recursive: true, force: true });
  await closeTestDb();
  await stack?.stop();
}, 120_000);

describe("a worker killed mid-step", () => {
  it("leaves a build the next worker fails with a reason within a minute, and nothing labelled for it", async () => {
    const flavour = await createFlavour(db, customer, { baseManifestId, name: `leaks-${stamp}` });
    await saveRevision(db, customer, flavour.id, { layers: [{ category: "layer", name: "sleeper", version: "1", files: [], steps: ["echo sleeping", "sleep 600"] }] });
    const first = startWorker("worker 1");
    const started = await startBuild(db, customer, flavour.id, {});
    await until("the step runs in the first worker", async () => {
      const b = await getBuild(db, customer, started.id);
      return b.packages[1]?.step === 2 && (await containersOf(started.id)).some((c) => c.State === "running");
    });
    const [running] = await db.select({ workerId: builds.workerId }).from(builds).where(eq(builds.id, started.id));

    process.kill(-first.pid!, "SIGKILL");
    await exited(first);
    const killedAt = Date.now();
    // The killed worker's step container runs on: nothing stopped it.
    expect((await containersOf(started.id)).map((c) => c.State)).toContain("running");

    startWorker("worker 2");
    await until("the build is failed and its leftovers are gone", async () => {
      const b = await getBuild(db, customer, started.id);
      return b.status !== "running" && (await containersOf(started.id)).length === 0 && (await imagesOf(started.id)).length === 0;
    });
    expect(Date.now() - killedAt).toBeLessThan(60_000);
    const build = await getBuild(db, customer, started.id);
    expect(build.status).toBe("failed");
    expect(build.error).toContain(`The worker running this build (${running.workerId}) stopped; press Retry`);
    expect(build.packages[1].status).toBe("cancelled");
  });
});

describe("the periodic sweep", () => {
  // The sweep is called by hand here. A worker left running from the test above would claim the builds this test
  // starts (between startBuild and the update that marks one running) and finish them, and its own sweep would run too.
  beforeAll(stopWorkers, 60_000);

  it("removes an exited base-image container and a failed build's container, and keeps what is in use", async () => {
    const flavour = await createFlavour(db, customer, { baseManifestId, name: `sweep-${stamp}` });
    const failed = await startBuild(db, customer, flavour.id, {});
    await db.update(builds).set({ status: "failed", error: "a step failed", finishedAt: new Date() }).where(eq(builds.id, failed.id));
    const live = await startBuild(db, customer, flavour.id, {});
    await db.update(builds).set({ status: "running", heartbeatAt: new Date(), workerId: defaultWorkerId() }).where(eq(builds.id, live.id));

    const create = async (opts: Dockerode.ContainerCreateOptions, start: boolean) => {
      const container = await docker.createContainer({ Image: "strata/debian:bookworm", ...opts });
      made.push(container.id);
      if (start) await container.start();
      return container;
    };
    // Made from the base image with no labels of its own: it carries the image's strata.managed=1, strata.role=base.
    const baseLeftover = await create({ Cmd: ["true"] }, true);
    await baseLeftover.wait();
    expect((await baseLeftover.inspect()).Config.Labels).toMatchObject({ [LABEL.managed]: "1", [LABEL.role]: "base" });
    const failedStep = await create({ Cmd: ["sleep", "600"], Labels: { [LABEL.managed]: "1", [LABEL.build]: failed.id } }, true);
    const liveStep = await create({ Cmd: ["sleep", "600"], Labels: { [LABEL.managed]: "1", [LABEL.build]: live.id } }, true);
    // Inherited labels (a disk image made from an image the failed build committed) do not make it that build's.
    const diskImage = await create({ Cmd: ["sleep", "600"], Labels: { [LABEL.managed]: "1", [LABEL.build]: failed.id, "strata.disk-image": "source" } }, true);
    // Loose and running (the disk tools' container while apt-get runs): nobody's leftover yet.
    const looseRunning = await create({ Cmd: ["sleep", "600"] }, true);

    const exists = async (c: Dockerode.Container) => c.inspect().then(() => true, () => false);
    // As the worker runs it: the failed build's container goes, a loose container only once idle a while.
    expect(await sweepOrphans(db, docker)).toBeGreaterThanOrEqual(1);
    expect(await exists(failedStep)).toBe(false);
    expect(await exists(baseLeftover)).toBe(true);
    // Once the exited base-image container has been idle longer than the grace (here none), it goes too.
    await sweepOrphans(db, docker, { looseAfterMs: 0 });
    expect(await exists(baseLeftover)).toBe(false);
    expect(await exists(liveStep)).toBe(true);
    expect(await exists(diskImage)).toBe(true);
    expect(await exists(looseRunning)).toBe(true);

    // The live build's worker stops beating: its container is a leftover now.
    await db.update(builds).set({ heartbeatAt: new Date(Date.now() - 120_000) }).where(eq(builds.id, live.id));
    await sweepOrphans(db, docker);
    expect(await exists(liveStep)).toBe(false);
  });
});
