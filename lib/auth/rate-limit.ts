// Rate limits kept in the `rate_limits` table, so they hold across web processes. Each attempt is taken with one
// atomic upsert per key (INSERT … ON CONFLICT DO UPDATE … WHERE … RETURNING): PostgreSQL serialises the upserts of
// one key on its row, so parallel requests cannot all pass between a count and a write.
import { sql } from "drizzle-orm";
import type { DbOrTx } from "../db";
import { rateLimits } from "../db/schema";

/** At most `max` attempts per `windowSeconds`; then refused until the window ends. */
export interface WindowPolicy {
  kind: "window";
  max: number;
  windowSeconds: number;
}

/**
 * `free` attempts, then each further one must wait `baseSeconds`, doubling per attempt up to `maxSeconds`. The count
 * starts over after `windowSeconds` without an attempt, or on `reset` (a success).
 */
export interface BackoffPolicy {
  kind: "backoff";
  free: number;
  baseSeconds: number;
  maxSeconds: number;
  windowSeconds: number;
}

export type Policy = WindowPolicy | BackoffPolicy;

export type Take = { ok: true; hits: number } | { ok: false; retryAfterSeconds: number };

const rows = <T>(result: unknown): T[] => (result as { rows: T[] }).rows;

/** Takes one attempt under `policy` for `key`, or says how long to wait. */
export async function takeAttempt(db: DbOrTx, key: string, policy: Policy): Promise<Take> {
  const window = sql`make_interval(secs => ${policy.windowSeconds})`;
  const taken =
    policy.kind === "window"
      ? await db.execute(sql`
          insert into ${rateLimits} as r (key, hits, window_started_at, blocked_until, updated_at)
          values (${key}, 1, now(), null, now())
          on conflict (key) do update set
            hits = case when r.window_started_at <= now() - ${window} then 1 else r.hits + 1 end,
            window_started_at = case when r.window_started_at <= now() - ${window} then now() else r.window_started_at end,
            updated_at = now()
          where r.window_started_at <= now() - ${window} or r.hits < ${policy.max}
          returning r.hits`)
      : await db.execute(sql`
          insert into ${rateLimits} as r (key, hits, window_started_at, blocked_until, updated_at)
          values (${key}, 1, now(), ${1 >= policy.free ? sql`now() + make_interval(secs => ${Math.min(policy.maxSeconds, policy.baseSeconds)})` : null}, now())
          on conflict (key) do update set
            hits = case when r.updated_at <= now() - ${window} then 1 else r.hits + 1 end,
            window_started_at = case when r.updated_at <= now() - ${window} then now() else r.window_started_at end,
            blocked_until = case
              when (case when r.updated_at <= now() - ${window} then 1 else r.hits + 1 end) >= ${policy.free}
              then now() + make_interval(secs => least(${policy.maxSeconds}::float8,
                ${policy.baseSeconds}::float8 * power(2::float8, least(40, (case when r.updated_at <= now() - ${window} then 1 else r.hits + 1 end) - ${policy.free}))))
              else null end,
            updated_at = now()
          where r.blocked_until is null or r.blocked_until <= now()
          returning r.hits`);
  const [row] = rows<{ hits: number }>(taken);
  if (row) return { ok: true, hits: Number(row.hits) };
  // Refused: say how long until the next attempt is taken (read after the fact; only the message depends on it).
  const [state] = rows<{ wait: number | null }>(
    await db.execute(
      policy.kind === "window"
        ? sql`select extract(epoch from (window_started_at + ${window} - now()))::float8 as wait from ${rateLimits} where key = ${key}`
        : sql`select extract(epoch from (blocked_until - now()))::float8 as wait from ${rateLimits} where key = ${key}`,
    ),
  );
  return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(Number(state?.wait ?? 1))) };
}

/** Gives back an attempt taken for `key` (one that should not count, e.g. a successful sign-in against the address). */
export async function giveBack(db: DbOrTx, key: string): Promise<void> {
  await db.execute(sql`update ${rateLimits} set hits = greatest(hits - 1, 0) where key = ${key}`);
}

/** Starts `key` over: no attempts, no wait (a successful sign-in for the account). */
export async function resetLimit(db: DbOrTx, key: string): Promise<void> {
  await db.execute(sql`delete from ${rateLimits} where key = ${key}`);
}

/** "Try again in 40 seconds." / "… in 3 minutes." */
export function tryAgainIn(seconds: number): string {
  if (seconds < 90) return `Try again in ${seconds} second${seconds === 1 ? "" : "s"}.`;
  const minutes = Math.ceil(seconds / 60);
  return `Try again in ${minutes} minutes.`;
}
