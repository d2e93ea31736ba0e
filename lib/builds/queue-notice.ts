// What the build page says about a build that is not running yet or runs again: a retry counting down after an
// engine or registry outage, or the organisation's cap on running builds holding it back.

export interface QueueNoticeInput {
  status: string;
  phaseDetail: string | null;
  /** Attempts so far (claims); absent from older snapshots. */
  attempt?: number;
  maxAttempts?: number;
  /** ISO time (the page's JSON) or Date of the next attempt. */
  retryAt?: string | Date | null;
  retryReason?: string | null;
}

export type QueueNotice =
  | { kind: "retrying"; headline: string; reason: string | null }
  | { kind: "waiting"; headline: string }
  | { kind: "attempt"; headline: string };

/** The line for a queued or running build, counting down to `now` (null before the page has a clock). */
export function queueNotice(build: QueueNoticeInput, now: number | null): QueueNotice | null {
  const of = build.maxAttempts ?? 1;
  if (build.status === "queued" && build.retryAt) {
    const at = typeof build.retryAt === "string" ? Date.parse(build.retryAt) : build.retryAt.getTime();
    const seconds = now === null ? null : Math.max(0, Math.ceil((at - now) / 1000));
    const when = seconds === null ? "retrying soon" : seconds > 0 ? `retrying in ${seconds} s` : "retrying now";
    return { kind: "retrying", headline: `${when} (attempt ${(build.attempt ?? 0) + 1} of ${of})`, reason: build.retryReason ?? null };
  }
  if (build.status === "queued" && build.phaseDetail?.startsWith("waiting:")) return { kind: "waiting", headline: `${build.phaseDetail}; it starts when one of them ends` };
  if (build.status === "running" && (build.attempt ?? 1) > 1)
    return { kind: "attempt", headline: `attempt ${build.attempt} of ${of}${build.retryReason ? `; the last one failed: ${build.retryReason}` : ""}` };
  return null;
}
