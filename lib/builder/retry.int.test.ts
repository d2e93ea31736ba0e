// Retries, failed claims and the per-organisation running cap, through the worker's real path: pg-boss fetching the
// build queue, the job wrapper (lib/jobs/handler.ts) and runBuild, against the real PostgreSQL, dockerd and registry.
// The registry outage is simulated by a TCP proxy in front of the real registry (127.0.0.1:5055) that resets every
// connection while "down"; the worker is pointed at the proxy, so its registry client and the engine meet a registry
// that has stopped answering, exactly as they would if it went away.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import net from "node:net";
import path from "node:path";
import { inject } from "vitest";
import { eq, inArray, sql } from "drizzle-orm";
import type PgBoss from "pg-boss";
import Dockerode from "dockerode";
import { closeTestDb, makeActor, testDb } from "../testing/fixtures";
import { publishTinyBase, startBuildTestStack, testBuildDeps, type BuildTestStack } from "../testing/build-deps";
import { buildLogs, buildPackages, builds, type Build } from "../db/schema";
import { createFlavour, saveRevision } from "../flavours/flavours";
import { cancelBuild, enqueueBuild, getBuild, startBuild } from "../builds/builds";
import { reapOrphanedQueuedBuilds } from "../builds/queue-reaper";
import { bossDb, createBoss, getSenderBoss, prepareQueues, QUEUES } from "../jobs/boss";
import { jobSettings } from "../config";
import { parseRegistry } from "../registry/endpoint";
import { workBuilds } from "../../workers/handlers";
import type { Actor } from "../auth/actor";
import type { PackageDefinitionInput } from "../manifest/schema";

const databaseUrl = inject("databaseUrl");
process.env.DATABASE_URL = databaseUrl;
const db = testDb();
const dataDir = path.resolve(".data/test");
const stamp = Date.now().toString(36);

/** Short retries, two builds at once, one running build an organisation: set through the worker's own settings. */
const SETTINGS = { STRATA_BUILD_RETRIES: "3", STRATA_BUILD_RETRY_DELAY_S: "2", STRATA_BUILD_RETRY_BACKOFF: "0", STRATA_WORKER_CONCURRENCY: "2", STRATA_ORG_MAX_RUNNING: "1" };
const savedEnv = Object.fromEntries(Object.keys(SETTINGS).map((k) => [k, process.env[k]]));

/** A TCP proxy (to the registry, or to the engine's socket) that can go down: while down it resets every connection, new and open. */
interface OutageProxy {
  /** host:port, as REGISTRY_URL would name it. */
  address: string;
  down(): void;
  up(): void;
  close(): Promise<void>;
}

async function outageProxy(target: { host: string; port: number } | { path: string }): Promise<OutageProxy> {
  let isDown = false;
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (isDown) {
      client.resetAndDestroy();
      return;
    }
    const upstream = "path" in target ? net.connect(target.path) : net.connect(target.port, target.host);
    open.add(client);
    open.add(upstream);
    const close = () => {
      open.delete(client);
      open.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", close).on("close", close);
    upstream.on("error", close).on("close", close);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    down() {
      isDown = true;
      for (const socket of open) socket.resetAndDestroy();
      open.clear();
    },
    up() {
      isDown = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

let stack: BuildTestStack;
let proxy: OutageProxy;
/** The engine as the worker reaches it: through a proxy to its socket only while a test takes the engine away. */
let engineVia: Dockerode | null = null;
let boss: PgBoss;
let customer: Actor;
let other: Actor;
let baseId: string;
const workerLog: string[] = [];


const layer = (name: string, steps: string[]): PackageDefinitionInput => ({ category: "layer", name, version: "1", steps });

async function fork(actor: Actor, layers: PackageDefinitionInput[]) {
  const flavour = await createFlavour(db, actor, { baseManifestId: baseId, name: `retry-${stamp}-${Math.random().toString(36).slice(2, 7)}` });
  if (layers.length) await saveRevision(db, actor, flavour.id, { layers });
  return flavour;
}

const row = async (id: string): Promise<Build> => (await db.select().from(builds).where(eq(builds.id, id)))[0];

/** Polls the build row until `done` holds (the worker runs in this process, on pg-boss's one-second poll). */
async function waitFor(id: string, done: (b: Build) => boolean, what: string, timeoutMs = 110_000): Promise<Build> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const b = await row(id);
    if (done(b)) return b;
    if (Date.now() > until) throw new Error(`build ${id} did not reach "${what}"; it is ${b.status} (attempt ${b.attempt}, error ${b.error ?? "none"})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const finished = (id: string) => waitFor(id, (b) => ["succeeded", "failed", "cancelled"].includes(b.status), "a final state");
const logText = async (id: string) => (await db.select({ line: buildLogs.line }).from(buildLogs).where(eq(buildLogs.buildId, id))).map((l) => l.line).join("\n");
const jobOf = async (jobId: string) =>
  (await db.execute<{ state: string; retry_count: number }>(sql`select state::text as state, retry_count from pgboss.job where name = ${QUEUES.build} and id = ${jobId}::uuid`)).rows[0];
/** The job once pg-boss has recorded how its handler ended (that comes after the handler wrote the build row). */
async function settledJob(jobId: string) {
  const until = Date.now() + 30_000;
  for (;;) {
    const job = await jobOf(jobId);
    if (job.state !== "active" || Date.now() > until) return job;
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  stack = await startBuildTestStack(dataDir);
  const [host, port] = parseRegistry(stack.registry.url).url.split(":");
  proxy = await outageProxy({ host, port: Number(port) });
  Object.assign(process.env, SETTINGS);
  const settings = jobSettings();
  // The queue's retry settings follow the environment (queues made earlier had none).
  await prepareQueues(databaseUrl, settings);
  customer = await makeActor(db);
  other = await makeActor(db);
  baseId = await publishTinyBase(db, { name: "retry-base", version: stamp, line: `retry tests ${stamp}` });
  boss = createBoss(databaseUrl);
  boss.on("error", (err) => workerLog.push(`pg-boss: ${err.message}`));
  await boss.start();
  await workBuilds({ boss, db, log: (m) => workerLog.push(m) }, () => testBuildDeps({ db, docker: engineVia ?? stack.docker, registryUrl: proxy.address, dataDir }), settings);
}, 600_000);

afterAll(async () => {
  await boss?.stop({ graceful: true, wait: true, timeout: 30_000 });
  for (const [key, value] of Object.entries(savedEnv)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  await prepareQueues(databaseUrl, jobSettings()).catch(() => {});
  await proxy?.close();
  await closeTestDb();
  await stack?.stop();
});

describe("retries of engine and registry outages", () => {
  it("queues the build again with when and why, and it succeeds once the registry is back, without anyone pressing Retry", async () => {
    const flavour = await fork(customer, [layer("brief", [`echo brief outage ${stamp} > /opt/brief`])]);
    proxy.down();
    const started = await startBuild(db, customer, flavour.id, {});
    try {
      const waiting = await waitFor(started.id, (b) => b.status === "queued" && b.retryAt !== null, "waiting for a retry");
      expect(waiting.attempt).toBe(1);
      expect(waiting.maxAttempts).toBe(4);
      expect(waiting.retryReason).toContain(`The registry ${proxy.address} is not reachable`);
      // What the build page and GET /api/v1/builds/{id} read (the route returns getBuild).
      const shown = await getBuild(db, customer, started.id);
      expect(shown).toMatchObject({ status: "queued", attempt: 1, maxAttempts: 4, retryReason: waiting.retryReason });
      expect(shown.retryAt).toBeInstanceOf(Date);
      expect(shown.packages.every((p) => p.status === "pending")).toBe(true);
      // Its job waits in pg-boss's retry state, so the queued-build reaper leaves it alone.
      expect((await jobOf(started.jobId!)).state).toBe("retry");
      expect(await reapOrphanedQueuedBuilds(db, 0)).not.toContain(started.id);
    } finally {
      proxy.up();
    }
    const done = await finished(started.id);
    expect(done.error).toBeNull();
    expect(done.status).toBe("succeeded");
    expect(done.attempt).toBeGreaterThanOrEqual(2);
    expect(done.retryAt).toBeNull();
    expect(await logText(started.id)).toContain("attempt 1 of 4 failed: The registry");
  });

  it("fails the build with the reason once the outage outlasts every retry", async () => {
    const flavour = await fork(customer, [layer("long", [`echo long outage ${stamp} > /opt/long`])]);
    proxy.down();
    try {
      const started = await startBuild(db, customer, flavour.id, {});
      const done = await finished(started.id);
      expect(done.status).toBe("failed");
      expect(done.attempt).toBe(4);
      expect(done.maxAttempts).toBe(4);
      expect(done.error).toContain(`The registry ${proxy.address} is not reachable`);
      expect(done.error).toContain("Strata tried this build 4 times (3 retries after an engine or registry outage); the last attempt failed the same way.");
      expect(done.retryAt).toBeNull();
      const packages = await db.select({ status: buildPackages.status }).from(buildPackages).where(eq(buildPackages.buildId, started.id));
      expect(packages.every((p) => p.status === "cancelled")).toBe(true);
    } finally {
      proxy.up();
    }
  });

  it("retries an engine outage the same way: the build succeeds once the engine answers again", async () => {
    const socket = (stack.docker.modem as unknown as { socketPath?: string }).socketPath;
    if (!socket) throw new Error("these tests expect the engine on a unix socket");
    const engine = await outageProxy({ path: socket });
    const [, port] = engine.address.split(":");
    engineVia = new Dockerode({ host: "127.0.0.1", port: Number(port), protocol: "http" });
    const flavour = await fork(customer, [layer("engine", [`echo engine outage ${stamp} > /opt/engine`])]);
    engine.down();
    try {
      const started = await startBuild(db, customer, flavour.id, {});
      const waiting = await waitFor(started.id, (b) => b.status === "queued" && b.retryAt !== null, "waiting for a retry");
      expect(waiting.retryReason).toContain("does not answer");
      engine.up();
      const done = await finished(started.id);
      expect(done.status).toBe("succeeded");
      expect(done.attempt).toBeGreaterThanOrEqual(2);
    } finally {
      engineVia = null;
      await engine.close();
    }
  });

  it("cancels a build that waits for its retry: it does not run again", async () => {
    const flavour = await fork(customer, [layer("cancelled", [`echo cancelled ${stamp} > /opt/cancelled`])]);
    proxy.down();
    try {
      const started = await startBuild(db, customer, flavour.id, {});
      await waitFor(started.id, (b) => b.status === "queued" && b.retryAt !== null, "waiting for a retry");
      const cancelled = await cancelBuild(db, customer, started.id);
      expect(cancelled.status).toBe("cancelled");
      expect((await jobOf(started.jobId!)).state).toBe("cancelled");
    } finally {
      proxy.up();
    }
  });

  it("fails at once what a retry cannot fix: a step exiting 3 is attempt 1 of 4, with no retry", async () => {
    const flavour = await fork(customer, [layer("broken", [`echo broken ${stamp}`, "exit 3"])]);
    const started = await startBuild(db, customer, flavour.id, {});
    const done = await finished(started.id);
    expect(done.status).toBe("failed");
    expect(done.error).toContain("layer/broken: step 2 failed with exit code 3");
    expect(done.error).not.toContain("Strata tried this build");
    expect(done.attempt).toBe(1);
    expect(done.retryAt).toBeNull();
    expect(done.retryReason).toBeNull();
    const job = await settledJob(started.jobId!);
    expect(job.retry_count).toBe(0);
    expect(job.state).toBe("completed");
    expect(await logText(started.id)).not.toContain("attempt 1 of");
  });
});

describe("claims that fail and jobs that are gone", () => {
  it("fails the build with the reason when the database drops the connection during the claim: none is left queued", async () => {
    const flavour = await fork(customer, [layer("claim", [`echo claim ${stamp}`])]);
    // The database drops the claiming connection: a trigger on this flavour's builds terminates its own backend
    // the moment a worker sets one running (as a restarted or failed-over PostgreSQL would).
    await db.execute(sql.raw(`
      create or replace function strata_test_drop_claim() returns trigger language plpgsql as $$
      begin perform pg_terminate_backend(pg_backend_pid()); return new; end $$;
      create trigger strata_test_drop_claim before update on builds for each row
        when (new.flavour_id = '${flavour.id}' and new.status = 'running') execute function strata_test_drop_claim();
    `));
    try {
      const started = await startBuild(db, customer, flavour.id, {});
      const done = await finished(started.id);
      expect(done.status).toBe("failed");
      expect(done.error).toMatch(/^The worker could not run this build: .*(terminat|Connection).*Press Retry to build it again\.$/s);
      expect(done.startedAt).toBeNull();
      const packages = await db.select({ status: buildPackages.status }).from(buildPackages).where(eq(buildPackages.buildId, started.id));
      expect(packages.every((p) => p.status === "cancelled")).toBe(true);
      expect(await db.select({ id: builds.id }).from(builds).where(eq(builds.flavourId, flavour.id)).then((rows) => rows.length)).toBe(1);
      expect((await row(started.id)).status).not.toBe("queued");
    } finally {
      await db.execute(sql.raw(`drop trigger if exists strata_test_drop_claim on builds; drop function if exists strata_test_drop_claim();`));
    }
  });

  it("fails a queued build whose job is gone, saying so", async () => {
    const flavour = await fork(customer, [layer("orphan", [`echo orphan ${stamp}`])]);
    // The row is queued but its job is deleted in the same transaction, so no worker ever sees it.
    const orphan = await db.transaction(async (tx) => {
      const build = await enqueueBuild(tx, customer, flavour, 1, { boss: await getSenderBoss() });
      await (await getSenderBoss()).deleteJob(QUEUES.build, build.jobId!, { db: bossDb(tx) });
      return build;
    });
    expect((await row(orphan.id)).status).toBe("queued");
    const reaped = await reapOrphanedQueuedBuilds(db, 0);
    expect(reaped).toContain(orphan.id);
    const failed = await row(orphan.id);
    expect(failed.status).toBe("failed");
    expect(failed.error).toBe("No worker was going to start this build: its job is no longer in the queue. Press Retry to build it again.");
    const packages = await db.select({ status: buildPackages.status }).from(buildPackages).where(eq(buildPackages.buildId, orphan.id));
    expect(packages.every((p) => p.status === "cancelled")).toBe(true);
    // A queued build younger than the margin is left alone whatever its job says.
    expect(await reapOrphanedQueuedBuilds(db)).not.toContain(orphan.id);
  });
});

describe("the per-organisation cap on running builds", () => {
  it("runs two builds of one organisation one after the other, while another organisation's build is not held up", async () => {
    // Each A build runs a step long enough for the B build to start beside it.
    const flavourA1 = await fork(customer, [layer("slow", [`echo a1 ${stamp} ${Math.random()}`, "sleep 8"])]);
    const flavourA2 = await fork(customer, [layer("slow", [`echo a2 ${stamp} ${Math.random()}`, "sleep 8"])]);
    const flavourB = await fork(other, [layer("quick", [`echo b ${stamp} ${Math.random()}`])]);
    const a1 = await startBuild(db, customer, flavourA1.id, {});
    const a2 = await startBuild(db, customer, flavourA2.id, {});
    const b = await startBuild(db, other, flavourB.id, {});
    const ids = [a1.id, a2.id];
    // Whichever A build a worker took second waits, and says why.
    const heldBack = await (async () => {
      const until = Date.now() + 110_000;
      for (;;) {
        const rows = await db.select().from(builds).where(inArray(builds.id, ids));
        const waiting = rows.find((r) => r.status === "queued" && r.phaseDetail?.startsWith("waiting:"));
        if (waiting) return waiting;
        if (Date.now() > until) throw new Error(`neither build of the organisation was held back by its cap: ${JSON.stringify(rows.map((r) => [r.status, r.phaseDetail, r.startedAt, r.finishedAt]))}\n${workerLog.slice(-30).join("\n")}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    expect(heldBack.phaseDetail).toBe("waiting: your organisation has 1 build running (limit 1)");
    const originalJob = heldBack.id === a1.id ? a1.jobId : a2.jobId;
    const [doneA1, doneA2, doneB] = [await finished(a1.id), await finished(a2.id), await finished(b.id)];
    for (const done of [doneA1, doneA2, doneB]) expect(done.status).toBe("succeeded");
    const [first, second] = [doneA1, doneA2].sort((x, y) => x.startedAt!.getTime() - y.startedAt!.getTime());
    // One after the other: the second started once the first had finished.
    expect(second.startedAt!.getTime()).toBeGreaterThanOrEqual(first.finishedAt!.getTime());
    // Waiting used no attempt; its job was sent again (a new job id on the row).
    expect(second.attempt).toBe(1);
    const heldBackNow = heldBack.id === a1.id ? doneA1 : doneA2;
    expect(heldBackNow.jobId).not.toBe(originalJob);
    // The other organisation's build ran beside the first one.
    expect(doneB.startedAt!.getTime()).toBeLessThan(first.finishedAt!.getTime());
  });
});
