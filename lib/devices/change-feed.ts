// Tells every web process's device API, through PostgreSQL's LISTEN/NOTIFY, that a device or channel changed, so
// their caches can hold rows for minutes and still serve a revocation, pin or approval at once. The notification
// is sent in the transaction of the change and delivered only when it commits.
import pg from "pg";
import { sql } from "drizzle-orm";
import type { DbOrTx } from "../db";

export const CHANGE_CHANNEL = "strata_device_api";

export type Change = { kind: "device" | "channel"; id: string } | { kind: "all" };

export async function notifyDeviceChange(tx: DbOrTx, deviceId: string): Promise<void> {
  await tx.execute(sql`select pg_notify(${CHANGE_CHANNEL}, ${`device:${deviceId}`})`);
}

export async function notifyChannelChange(tx: DbOrTx, channelId: string): Promise<void> {
  await tx.execute(sql`select pg_notify(${CHANGE_CHANNEL}, ${`channel:${channelId}`})`);
}

export function parseChange(payload: string | undefined): Change {
  const m = /^(device|channel):([0-9a-f-]{36})$/.exec(payload ?? "");
  return m ? { kind: m[1] as "device" | "channel", id: m[2] } : { kind: "all" };
}

export interface ChangeFeed {
  /** True while LISTEN is in place: only then may caches outlive the short fallback time. */
  readonly connected: boolean;
  close(): Promise<void>;
}

/**
 * One connection that LISTENs, reconnecting with back-off. While it is down, and once when it comes back (changes
 * may have been missed), `onChange` gets `{ kind: "all" }`.
 */
export function listenForChanges(databaseUrl: string, onChange: (change: Change) => void, log: (msg: string) => void = () => {}): ChangeFeed {
  let client: pg.Client | null = null;
  let connected = false;
  let closed = false;
  let retryMs = 500;
  let timer: NodeJS.Timeout | undefined;

  const connect = async () => {
    if (closed) return;
    const next = new pg.Client({ connectionString: databaseUrl });
    next.on("notification", (msg) => onChange(parseChange(msg.payload)));
    const lost = (why: string) => {
      if (client !== next) return;
      client = null;
      connected = false;
      onChange({ kind: "all" });
      if (closed) return;
      log(`change feed lost (${why}); device caches fall back to short times until it is back`);
      timer = setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 30_000);
    };
    next.on("error", (err) => lost(err.message));
    next.on("end", () => lost("connection ended"));
    client = next;
    try {
      await next.connect();
      await next.query(`LISTEN ${CHANGE_CHANNEL}`);
      if (closed) return void next.end().catch(() => {});
      connected = true;
      retryMs = 500;
      onChange({ kind: "all" });
    } catch (err) {
      next.end().catch(() => {});
      lost((err as Error).message);
    }
  };
  void connect();

  return {
    get connected() {
      return connected;
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      const c = client;
      client = null;
      connected = false;
      await c?.end().catch(() => {});
    },
  };
}
