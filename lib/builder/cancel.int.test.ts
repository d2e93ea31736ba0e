// Cancel is prompt whatever the build is doing: a step (heard through LISTEN, not the heartbeat), a wait for another
// worker's key lock, a push to a slow registry. Real PostgreSQL, dockerd and registry; the slow registry is the real
// one behind a throttling TCP proxy (nothing here can make the real registry slow on demand).
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import net from "node:net";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type Dockerode from "dockerode";
import { closeTestDb, makeActor, testDb } from "../testing/fixtures";
import { publishTinyBase, startBuildTestStack, testBuildDeps, type BuildTestStack } from "../testing/build-deps";
import { getPool } from "../db";
import { getBaseManifest } from "../base-manifests/base-manifests";
import { createFlavour, saveRevision } from "../flavours/flavours";
import { cancelBuild, getBuild, startBuild } from "../builds/builds";
import { RegistryClient } from "../registry/client";
import type { Actor } from "../auth/actor";
import type { PackageDefinitionInput } from "../manifest/schema";
import { cacheTag, LABEL } from "./engine/images";
import { listenForCancels, type CancelListener } from "./cancel-listener";
import { planKeys } from "./run-packages";
import { runBuild, type BuildDeps } from "./run-build";

process.env.DATABASE_URL = inject("databaseUrl");
const db = testDb();
const dataDir = path.resolve(".data/test");
const stamp = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
let stack: BuildTestStack;
let docker: Dockerode;
let customer: Actor;
let baseManifestId: string;
let cancels: CancelListener;

const layer = (name: string, steps: string[]): PackageDefinitionInput => ({ category: "layer", name, version: "1", files: [], steps });

async function flavourWith(layers: PackageDefinitionInput[]) {
  const flavour = await createFlavour(db, customer, { baseManifestId, name: `cancel-${stamp}-${Math.random().toString(36).slice(2, 6)}` });
  await saveRevision(db, customer, flavour.id, { layers });
  return flavour;
}

/** Polls until `check` is true (a build reaching a state), failing with `what` after two minutes. */
async function until(what: string, check: () => Promise<boolean>) {
  for (let i = 0; i < 480; i++) {
    if (await check()) return;
    await sleep(250);
  }
  throw new Error(`timed out waiting until ${what}`);
}

/**
 * Presses Cancel and returns how long the build took to end after it, with the build as its page shows it. A build
 * that does not end within 30 s is reported as taking that long (the caller's assertion then fails with it).
 */
async function cancelAndTime(buildId: string, running: Promise<unknown>) {
  const t0 = Date.now();
  await cancelBuild(db, customer, buildId);
  const ended = await Promise.race([running.then(() => true), sleep(30_000).then(() => false)]);
  const elapsed = ended ? Date.now() - t0 : 30_000;
  return { elapsed, build: await getBuild(db, customer, buildId) };
}

const deps = (overrides: Partial<BuildDeps> = {}): BuildDeps =>
  // A slow heartbeat: only the NOTIFY path can make a cancel prompt, so these tests see it.
  testBuildDeps({ db, docker, registryUrl: stack.registry.url, dataDir }, { heartbeatMs: 60_000, cancels, ...overrides });

beforeAll(async () => {
  stack = await startBuildTestStack(dataDir);
  docker = stack.docker;
  customer = await makeActor(db);
  baseManifestId = await publishTinyBase(db, { name: `cancel-base-${stamp}`, version: "1", line: `hello ${stamp}` });
  cancels = listenForCancels(getPool(), () => {});
}, 600_000);

afterAll(async () => {
  await cancels?.stop();
  await closeTestDb();
  await stack?.stop();
});

describe("Cancel", () => {
  it("stops a running step within 5 s, heard at once rather than at the next heartbeat", async () => {
    const flavour = await flavourWith([layer("slow", ["echo sleeping", "sleep 600"])]);
    const started = await startBuild(db, customer, flavour.id, {});
    const running = runBuild(deps(), started.id);
    await until("the slow step runs", async () => {
      const b = await getBuild(db, customer, started.id);
      return b.packages[1]?.status === "running" && b.packages[1]?.step === 2;
    });
    const { elapsed, build } = await cancelAndTime(started.id, running);
    expect(elapsed).toBeLessThan(5_000);
    expect(build.status).toBe("cancelled");
    expect(build.error).toMatch(/cancel/i);
    const containers = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${LABEL.build}=${started.id}`] }) });
    expect(containers).toEqual([]);
  });

  it("stops a build waiting for another worker's key lock within 5 s", async () => {
    const waiting = layer("waits", [`echo waited ${stamp}`]);
    const flavour = await flavourWith([waiting]);
    // The lock another worker building the same key would hold, held here on a connection of the test's own.
    const base = await getBaseManifest(db, baseManifestId);
    const baseImage = await docker.getImage("strata/debian:bookworm").inspect();
    const keys = planKeys(baseImage.Id, [...base.packages, waiting] as Parameters<typeof planKeys>[1]);
    const holder = await getPool().connect();
    try {
      await holder.query("select pg_advisory_lock(hashtextextended($1, 7041))", [keys[1]]);
      const started = await startBuild(db, customer, flavour.id, {});
      const running = runBuild(deps(), started.id);
      await until("the layer waits for the lock", async () => (await getBuild(db, customer, started.id)).packages[1]?.status === "running");
      // Give it time to be inside the wait, not before it.
      await sleep(1_000);
      const { elapsed, build } = await cancelAndTime(started.id, running);
      expect(elapsed).toBeLessThan(5_000);
      expect(build.status).toBe("cancelled");
      expect(build.packages[1].status).toBe("cancelled");
    } finally {
      await holder.query("select pg_advisory_unlock_all()").catch(() => {});
      holder.release();
    }
  });

  it("stops a push to a slow registry within 5 s", async () => {
    // 256 kB/s towards the registry: a few MB of fresh layer take far longer than the test waits.
    const proxy = await throttlingProxy(stack.registry.url, 256 * 1024);
    try {
      const flavour = await flavourWith([layer("bulky", [`head -c 8000000 /dev/urandom > /opt/bulky-${stamp}`])]);
      const started = await startBuild(db, customer, flavour.id, {});
      const running = runBuild(deps({ registry: new RegistryClient(proxy.address) }), started.id);
      // Pushing: more than a megabyte has gone towards the registry and the build is still at it.
      await until("a push is under way", async () => proxy.movedBytes() > 1024 * 1024);
      expect((await getBuild(db, customer, started.id)).status).toBe("running");
      const { elapsed, build } = await cancelAndTime(started.id, running);
      expect(elapsed).toBeLessThan(5_000);
      expect(build.status).toBe("cancelled");
    } finally {
      await proxy.close();
    }
  });

  it("stops a pull of a cached package from a slow registry within 5 s", async () => {
    const bulky = layer("pulled", [`head -c 8000000 /dev/urandom > /opt/pulled-${stamp}`]);
    const flavour = await flavourWith([bulky]);
    // Built once at full speed: the package's image is in the registry's shared cache.
    const first = await startBuild(db, customer, flavour.id, {});
    await runBuild(deps(), first.id);
    const built = await getBuild(db, customer, first.id);
    expect(built.status).toBe("succeeded");
    // This engine forgets it, so the next build pulls it from the registry, here through a slow link.
    await docker.getImage(cacheTag(built.packages[1].cacheKey!)).remove();
    const proxy = await throttlingProxy(stack.registry.url, 256 * 1024, "downstream");
    try {
      const started = await startBuild(db, customer, flavour.id, {});
      const running = runBuild(deps({ registry: new RegistryClient(proxy.address) }), started.id);
      await until("a pull is under way", async () => proxy.movedBytes() > 1024 * 1024);
      const { elapsed, build } = await cancelAndTime(started.id, running);
      expect(elapsed).toBeLessThan(5_000);
      expect(build.status).toBe("cancelled");
    } finally {
      await proxy.close();
    }
  });

  it("still stops a step through the heartbeat when no LISTEN is there", async () => {
    const flavour = await flavourWith([layer("beat", ["echo sleeping", "sleep 600"])]);
    const started = await startBuild(db, customer, flavour.id, {});
    const running = runBuild(deps({ cancels: undefined, heartbeatMs: 500 }), started.id);
    await until("the step runs", async () => (await getBuild(db, customer, started.id)).packages[1]?.step === 2);
    const { elapsed, build } = await cancelAndTime(started.id, running);
    expect(elapsed).toBeLessThan(5_000);
    expect(build.status).toBe("cancelled");
  });
});

/**
 * A TCP proxy in front of the registry that forwards what the client sends at `bytesPerSecond` (answers pass at
 * full speed), standing in for a registry on a slow link. Its address is "127.0.0.1:<port>", which the engine
 * treats as an insecure registry like the real one.
 */
async function throttlingProxy(target: string, bytesPerSecond: number, direction: "upstream" | "downstream" = "upstream") {
  const [host, port] = target.split(":");
  const sockets = new Set<net.Socket>();
  let moved = 0;
  const server = net.createServer((client) => {
    const registry = net.connect(Number(port), host === "localhost" ? "127.0.0.1" : host);
    sockets.add(client).add(registry);
    const [from, to] = direction === "upstream" ? [client, registry] : [registry, client];
    const drop = () => {
      client.destroy();
      registry.destroy();
    };
    client.on("error", drop);
    registry.on("error", drop);
    to.pipe(from);
    // The throttled direction in 16 kB slices, each after the time it takes at the rate; its end only after them.
    let queue = Promise.resolve();
    from.on("data", (chunk: Buffer) => {
      from.pause();
      queue = queue.then(async () => {
        for (let offset = 0; offset < chunk.length; offset += 16 * 1024) {
          const slice = chunk.subarray(offset, offset + 16 * 1024);
          await sleep((slice.length / bytesPerSecond) * 1000);
          if (to.destroyed) return;
          to.write(slice);
          moved += slice.length;
        }
        from.resume();
      });
    });
    from.on("end", () => void queue.then(() => to.end()));
    from.on("close", () => void queue.then(drop));
    to.on("close", drop);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return {
    address,
    /** Bytes passed in the throttled direction. */
    movedBytes: () => moved,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
