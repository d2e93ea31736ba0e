// The live log as the build page reads it, against the real database: lines and state changes are pushed by the
// database's notifications (the fallback poll is set to an hour here, so nothing else could deliver them), a reload
// resumes from Last-Event-ID, a user's streams are capped, and a client that does not read makes the server stop reading.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { eq, sql } from "drizzle-orm";
import { closeTestDb, insertStandInBuild, makeActor, removeTestOrgs, testDb } from "../testing/fixtures";
import { getPool } from "../db";
import { buildLogs, builds } from "../db/schema";
import type { Actor } from "../auth/actor";
import { createToken } from "../auth/tokens";
import { ensureBundledBaseManifests, listBaseManifests } from "../base-manifests/base-manifests";
import { createFlavour } from "../flavours/flavours";
import { liveBuildEvents, liveCounters } from "./live";
import { LOG_PAGE_LINES } from "./events";
import * as eventsRoute from "@/app/api/v1/builds/[id]/events/route";

process.env.DATABASE_URL = inject("databaseUrl");
process.env.STRATA_LOG_REQUESTS = "0";
// An hour: a line that arrives within seconds was pushed by a notification, not found by the fallback poll.
process.env.STRATA_LIVE_LOG_FALLBACK_POLL_MS = String(3600_000);
process.env.STRATA_MAX_STREAMS_PER_USER = "8";

const db = testDb();
let baseId: string;
let customer: Actor;
let token: string;
/** Readers left open by a test, cancelled at the end so their slots and subscriptions go. */
const openReaders: Array<ReadableStreamDefaultReader<Uint8Array>> = [];

beforeAll(async () => {
  await ensureBundledBaseManifests(db);
  baseId = (await listBaseManifests(db)).find((b) => b.name === "strata-base")!.id;
  customer = await makeActor(db);
  token = (await createToken(db, customer, { name: "t" })).token;
  // Connected before the first stream opens: the first LISTEN wakes every stream once, which would blur the counts below.
  liveBuildEvents().hub.subscribe("00000000-0000-4000-8000-000000000000", () => {});
  await untilListening();
});

afterAll(async () => {
  for (const reader of openReaders) await reader.cancel().catch(() => {});
  await liveBuildEvents().hub.stop();
  await removeTestOrgs(db);
  await closeTestDb();
  await getPool().end();
});

async function runningBuild(actor = customer) {
  const flavour = await createFlavour(db, actor, { baseManifestId: baseId, name: `live-${crypto.randomUUID().slice(0, 8)}`, description: "" });
  const build = await insertStandInBuild(db, actor, flavour, "running");
  await db.update(builds).set({ finishedAt: null, startedAt: new Date(), phase: "building", heartbeatAt: new Date() }).where(eq(builds.id, build.id));
  return build;
}

function open(buildId: string, opts: { token?: string; lastEventId?: number; signal?: AbortSignal } = {}) {
  return eventsRoute.GET(
    new Request("https://localhost/api/v1/builds/x/events", {
      headers: { authorization: `Bearer ${opts.token ?? token}`, ...(opts.lastEventId ? { "last-event-id": String(opts.lastEventId) } : {}) },
      signal: opts.signal,
    }),
    { params: Promise.resolve({ id: buildId }) },
  );
}

interface SseEvent {
  event: string;
  id?: number;
  data: any;
}

/** Reads server-sent events off a response body, one at a time. */
class EventReader {
  readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private buffer = "";
  private readonly decoder = new TextDecoder();
  constructor(res: Response) {
    this.reader = res.body!.getReader();
    openReaders.push(this.reader);
  }
  /** The next named event; throws when none arrives within `ms` (a generous bound, not a speed test). */
  async next(ms = 5_000): Promise<SseEvent> {
    const deadline = Date.now() + ms;
    for (;;) {
      const end = this.buffer.indexOf("\n\n");
      if (end >= 0) {
        const block = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        const fields = Object.fromEntries(block.split("\n").filter((l) => l && !l.startsWith(":")).map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 2)]));
        if (!fields.event) continue;
        return { event: fields.event, id: fields.id ? Number(fields.id) : undefined, data: JSON.parse(fields.data) };
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no event within ${ms} ms`);
      let timer: NodeJS.Timeout | undefined;
      const chunk = await Promise.race([
        this.reader.read(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no event within ${ms} ms`)), left);
        }),
      ]).finally(() => clearTimeout(timer));
      if (chunk.done) throw new Error("the stream ended");
      this.buffer += this.decoder.decode(chunk.value, { stream: true });
    }
  }
  /** The next event that is not a `build` snapshot. */
  async nextNotBuild(ms = 5_000): Promise<SseEvent> {
    for (;;) {
      const e = await this.next(ms);
      if (e.event !== "build") return e;
    }
  }
}

const writeLines = (buildId: string, lines: string[]) => db.insert(buildLogs).values(lines.map((line) => ({ buildId, packageId: "layer/greeting", line }))).returning({ id: buildLogs.id });

async function untilListening() {
  const deadline = Date.now() + 10_000;
  while (!liveBuildEvents().hub.isListening) {
    if (Date.now() > deadline) throw new Error("the hub did not LISTEN within 10 s");
    await new Promise((r) => setTimeout(r, 50));
  }
}

const reads = () => liveCounters.logPages + liveCounters.snapshots;

describe("pushed, not polled", () => {
  it("delivers a new line and a phase change at once, and reads nothing while the build is quiet", async () => {
    const build = await runningBuild();
    await writeLines(build.id, ["written before the page opened"]);
    const res = await open(build.id);
    expect(res.status).toBe(200);
    const events = new EventReader(res);
    expect((await events.next()).event).toBe("build");
    expect((await events.next()).data.map((l: { line: string }) => l.line)).toEqual(["written before the page opened"]);

    // Quiet: nothing is read, also when the worker beats (the heartbeat does not notify).
    const before = reads();
    await db.update(builds).set({ heartbeatAt: new Date() }).where(eq(builds.id, build.id));
    await new Promise((r) => setTimeout(r, 1_500));
    expect(reads()).toBe(before);

    await writeLines(build.id, ["hello from the step"]);
    const log = await events.next();
    expect(log.event).toBe("log");
    expect(log.data.map((l: { line: string }) => l.line)).toEqual(["hello from the step"]);

    await db.update(builds).set({ phase: "publishing", phaseDetail: "pushing layer/greeting" }).where(eq(builds.id, build.id));
    const state = await events.next();
    expect(state).toMatchObject({ event: "build", data: { phase: "publishing", phaseDetail: "pushing layer/greeting" } });

    await writeLines(build.id, ["last line"]);
    await db.update(builds).set({ status: "succeeded", phase: null, finishedAt: new Date() }).where(eq(builds.id, build.id));
    const rest: SseEvent[] = [];
    for (let e = await events.next(); ; e = await events.next()) {
      rest.push(e);
      if (e.event === "end") break;
    }
    expect(rest.filter((e) => e.event === "log").flatMap((e) => e.data.map((l: { line: string }) => l.line))).toEqual(["last line"]);
    expect(rest.at(-1)!.data).toEqual({ status: "succeeded" });
  });

  it("reconnects after losing its LISTEN connection and catches up on what was written meanwhile", async () => {
    const build = await runningBuild();
    const events = new EventReader(await open(build.id));
    await events.next();
    await untilListening();
    await db.execute(sql`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'strata-live-logs'`);
    await writeLines(build.id, ["written while nobody listened"]);
    // The reconnect (within seconds) wakes every stream once; the hour-long fallback poll cannot have.
    const log = await events.nextNotBuild(15_000);
    expect(log.data.map((l: { line: string }) => l.line)).toEqual(["written while nobody listened"]);
    await untilListening();
    await writeLines(build.id, ["after the reconnect"]);
    expect((await events.nextNotBuild()).data.map((l: { line: string }) => l.line)).toEqual(["after the reconnect"]);
  });
});

describe("a flood of log batches", () => {
  it("costs a bounded number of reads: at most one round every 200 ms, however many notifications arrive", async () => {
    const build = await runningBuild();
    const events = new EventReader(await open(build.id));
    expect((await events.next()).event).toBe("build");
    const before = liveCounters.logPages;
    const started = Date.now();
    // A hundred batches of one line, each its own statement and notification, as a chatty step writes them.
    for (let i = 0; i < 100; i++) await writeLines(build.id, [`batch ${i}`]);
    let received = 0;
    while (received < 100) received += (await events.nextNotBuild()).data.length;
    const rounds = (Date.now() - started) / 200;
    // One read a round at most, plus the first.
    expect(liveCounters.logPages - before).toBeLessThanOrEqual(Math.ceil(rounds) + 2);
    expect(liveCounters.logPages - before).toBeLessThan(100);
  });
});

describe("resuming", () => {
  it("sends only the lines after Last-Event-ID", async () => {
    const build = await runningBuild();
    const ids = await writeLines(build.id, ["one", "two", "three"]);
    const events = new EventReader(await open(build.id, { lastEventId: ids[0].id }));
    const log = await events.nextNotBuild();
    expect(log.id).toBe(ids[2].id);
    expect(log.data.map((l: { line: string }) => l.line)).toEqual(["two", "three"]);
  });
});

describe("open streams per user", () => {
  it("refuses the 9th with a 429 that says what to do, and a closed or abandoned stream frees its slot", async () => {
    const user = await makeActor(db);
    const userToken = (await createToken(db, user, { name: "t" })).token;
    const build = await runningBuild(user);
    const readers: EventReader[] = [];
    const aborter = new AbortController();
    for (let i = 0; i < 8; i++) {
      const res = await open(build.id, { token: userToken, signal: i === 7 ? aborter.signal : undefined });
      expect(res.status).toBe(200);
      readers.push(new EventReader(res));
    }
    const ninth = await open(build.id, { token: userToken });
    expect(ninth.status).toBe(429);
    expect((await ninth.json()).error.message).toMatch(/You have 8 live logs open; close one/);
    // Another user is not affected.
    const other = await open((await runningBuild()).id);
    expect(other.status).toBe(200);
    new EventReader(other);

    // The page was closed: the reader cancels its stream.
    await readers[0].reader.cancel();
    const again = await open(build.id, { token: userToken });
    expect(again.status).toBe(200);
    readers.push(new EventReader(again));
    expect((await open(build.id, { token: userToken })).status).toBe(429);

    // The client went away without a word: the request's signal aborts.
    aborter.abort();
    const afterAbort = await open(build.id, { token: userToken });
    expect(afterAbort.status).toBe(200);
    readers.push(new EventReader(afterAbort));
  });

  it("answers 404 for a build of another organisation without taking a slot", async () => {
    const stranger = await makeActor(db);
    const build = await runningBuild(stranger);
    const res = await open(build.id);
    expect(res.status).toBe(404);
    expect(liveBuildEvents().slots.count(customer.user.id)).toBeLessThan(8);
  });
});

describe("backpressure", () => {
  it("reads the next page of lines only when the client took the previous one", async () => {
    const build = await runningBuild();
    const total = 20 * LOG_PAGE_LINES;
    for (let i = 0; i < total; i += 5_000) await writeLines(build.id, Array.from({ length: 5_000 }, (_, j) => `line ${i + j} ${"x".repeat(80)}`));
    await db.update(builds).set({ status: "succeeded", phase: null, finishedAt: new Date() }).where(eq(builds.id, build.id));

    const before = liveCounters.logPages;
    const events = new EventReader(await open(build.id));
    expect((await events.next()).event).toBe("build");
    expect((await events.next()).event).toBe("log");
    // The client stops reading. The server may have one more page queued, not the other eighteen.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(liveCounters.logPages - before).toBeLessThanOrEqual(2);

    // Reading on delivers every line, in order, and then the end.
    let received = LOG_PAGE_LINES;
    for (;;) {
      const e = await events.next();
      if (e.event === "end") break;
      if (e.event === "log") received += e.data.length;
    }
    expect(received).toBe(total);
  });
});
