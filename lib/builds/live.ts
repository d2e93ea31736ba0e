// What wakes live build pages: one LISTEN connection per web process, shared by every open event stream, and the
// per-user cap on open streams. The database announces changes itself (triggers in drizzle/0011_live_build_events.sql).
import pg from "pg";
import { config } from "../config";
import { RateLimitedError } from "../errors";

/** NOTIFY channel; the payload is "<build id> log" or "<build id> state". */
export const BUILD_EVENTS_CHANNEL = "strata_build_events";

/** "log": new lines were written; "state": something the build page shows changed (status, phase, a package). */
export type WakeKind = "log" | "state";
type Waker = (kind: WakeKind) => void;

/** How long the connection may take to answer a ping before it counts as lost (a half-open TCP connection says nothing). */
const PING_EVERY_MS = 30_000;
const PING_TIMEOUT_MS = 10_000;
const RECONNECT_MS = [1_000, 2_000, 5_000, 10_000, 30_000];

export interface BuildEventHubOptions {
  connectionString: string;
  /** While the connection is down, every subscriber is woken this often (it then reads the database itself). */
  fallbackPollMs: number;
  log?: (msg: string) => void;
}

/**
 * Holds the LISTEN connection and wakes the subscribers of a build when it is notified. When the connection is lost
 * it reconnects with backoff and, meanwhile, wakes every subscriber every `fallbackPollMs`; after a (re)connect it
 * wakes them all once, since what was written while nobody listened was announced to nobody.
 */
export class BuildEventHub {
  private readonly wakers = new Map<string, Set<Waker>>();
  /** The connection in use or being made. */
  private client: pg.Client | null = null;
  private listening = false;
  private stopped = false;
  private failures = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private readonly log: (msg: string) => void;

  constructor(private readonly opts: BuildEventHubOptions) {
    this.log = opts.log ?? ((m) => console.log(`[live] ${m}`));
  }

  /** True while the LISTEN connection is up (streams are then woken by notifications only). */
  get isListening(): boolean {
    return this.listening;
  }

  /** Calls `waker` whenever the build's log or state changes; returns the unsubscribe function. */
  subscribe(buildId: string, waker: Waker): () => void {
    const id = buildId.toLowerCase();
    let set = this.wakers.get(id);
    if (!set) this.wakers.set(id, (set = new Set()));
    set.add(waker);
    this.start();
    return () => {
      const current = this.wakers.get(id);
      if (!current) return;
      current.delete(waker);
      if (current.size === 0) this.wakers.delete(id);
    };
  }

  /** Closes the connection and stops polling (tests; a web process keeps its hub for its lifetime). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.pollTimer);
    clearInterval(this.pingTimer);
    this.pollTimer = undefined;
    const client = this.client;
    this.client = null;
    this.listening = false;
    await client?.end().catch(() => {});
  }

  private start() {
    if (this.stopped || this.client || this.reconnectTimer) return;
    // Until the first LISTEN is in place, the streams poll slowly like after a lost connection.
    this.startPolling();
    void this.connect();
  }

  private async connect() {
    this.reconnectTimer = undefined;
    if (this.stopped) return;
    const client = new pg.Client({ connectionString: this.opts.connectionString, keepAlive: true, application_name: "strata-live-logs" });
    this.client = client;
    client.on("notification", (n) => {
      if (n.channel !== BUILD_EVENTS_CHANNEL || !n.payload) return;
      const [buildId, kind] = n.payload.split(" ");
      this.wake(buildId, kind === "log" ? "log" : "state");
    });
    client.on("error", (err) => this.lost(client, err));
    client.on("end", () => this.lost(client, new Error("the connection closed")));
    try {
      await client.connect();
      await client.query(`LISTEN ${BUILD_EVENTS_CHANNEL}`);
    } catch (err) {
      this.lost(client, err as Error);
      return;
    }
    if (this.client !== client) return;
    if (this.failures > 0) this.log("listening for build events again; live logs are pushed");
    this.failures = 0;
    this.listening = true;
    clearInterval(this.pollTimer);
    this.pollTimer = undefined;
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => void this.ping(client), PING_EVERY_MS);
    this.pingTimer.unref();
    this.wakeAll();
  }

  private async ping(client: pg.Client) {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        client.query("select 1"),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer to a ping within ${PING_TIMEOUT_MS / 1000} s`)), PING_TIMEOUT_MS);
        }),
      ]);
    } catch (err) {
      this.lost(client, err as Error);
    } finally {
      clearTimeout(timer);
    }
  }

  private lost(client: pg.Client, err: Error) {
    if (this.client !== client) return;
    this.client = null;
    this.listening = false;
    clearInterval(this.pingTimer);
    client.end().catch(() => {});
    if (this.stopped) return;
    const delay = RECONNECT_MS[Math.min(this.failures, RECONNECT_MS.length - 1)];
    this.failures++;
    this.log(`listening for build events failed (${err.message}); live logs poll every ${this.opts.fallbackPollMs / 1000} s, reconnecting in ${delay / 1000} s`);
    this.startPolling();
    this.reconnectTimer = setTimeout(() => void this.connect(), delay);
    this.reconnectTimer.unref();
  }

  private startPolling() {
    if (this.pollTimer) return;
    this.pollTimer = setInterval(() => this.wakeAll(), this.opts.fallbackPollMs);
    this.pollTimer.unref();
  }

  private wake(buildId: string, kind: WakeKind) {
    for (const waker of this.wakers.get(buildId.toLowerCase()) ?? []) waker(kind);
  }

  private wakeAll() {
    for (const set of this.wakers.values()) for (const waker of set) waker("state");
  }
}

/**
 * Open streams per user, in this process (a user whose pages reach two web processes may have the cap in each).
 * `acquire` throws a 429 past the cap; the function it returns frees the slot and may be called more than once.
 */
export class StreamSlots {
  private readonly open = new Map<string, number>();

  acquire(userId: string, max: number): () => void {
    const n = this.open.get(userId) ?? 0;
    if (n >= max) {
      throw new RateLimitedError(`You have ${n} live logs open; close one (a tab or window showing a build) and reload this page.`, 5);
    }
    this.open.set(userId, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(userId) ?? 1) - 1;
      if (left > 0) this.open.set(userId, left);
      else this.open.delete(userId);
    };
  }

  count(userId: string): number {
    return this.open.get(userId) ?? 0;
  }
}

/** Work the live streams of this process did, for tests and debugging: database reads, not wall time. */
export const liveCounters = { logPages: 0, snapshots: 0 };

export interface LiveBuildEvents {
  hub: BuildEventHub;
  slots: StreamSlots;
}

const globalForLive = globalThis as unknown as { strataLive?: LiveBuildEvents };

/** The process's hub and slots, made on first use from DATABASE_URL and lib/config.ts. */
export function liveBuildEvents(): LiveBuildEvents {
  if (!globalForLive.strataLive) {
    const connectionString = process.env.DATABASE_URL;
    if (!connectionString) throw new Error("DATABASE_URL is not set: start Strata with `npm run up`, or set it to a PostgreSQL URL.");
    globalForLive.strataLive = { hub: new BuildEventHub({ connectionString, fallbackPollMs: config.liveLogFallbackPollMs }), slots: new StreamSlots() };
  }
  return globalForLive.strataLive;
}
