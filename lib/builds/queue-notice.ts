// What the build page says about a build that is not running yet or runs again: a retry counting down after an
// engine or registry outage, or the organisation's cap on running builds holding it back.

export interface QueueNoticeInput {
  status: string;
  phaseDetail: string | null;
  /** The build's `retry` object (lib/builds/view.ts); null or absent while the first attempt is the only one. */
  retry?: {
    attemptNumber: number;
    maxAttempts: number;
    /** ISO time (the page's JSON) or Date of the next attempt. */
    at: string | Date | null;
    reason: string | null;
  } | null;
}

export type QueueNotice =
  | { kind: "retrying"; headline: string; reason: string | null }
  | { kind: "waiting"; headline: string }
  | { kind: "attempt"; headline: string };

/** The line for a queued or running build, counting down to `now` (null before the page has a clock). */
export function queueNotice(build: QueueNoticeInput, now: number | null): QueueNotice | null {
  const retry = build.retry ?? null;
  if (build.status === "queued" && retry?.at) {
    const at = typeof retry.at === "string" ? Date.parse(retry.at) : retry.at.getTime();
    const seconds = now === null ? null : Math.max(0, Math.ceil((at - now) / 1000));
    const when = seconds === null ? "retrying soon" : seconds > 0 ? `retrying in ${seconds} s` : "retrying now";
    return { kind: "retrying", headline: `${when} (attempt ${retry.attemptNumber} of ${retry.maxAttempts})`, reason: retry.reason };
  }
  if (build.status === "queued" && build.phaseDetail?.startsWith("waiting:")) return { kind: "waiting", headline: `${build.phaseDetail}; it starts when one of them ends` };
  if (build.status === "running" && retry && retry.attemptNumber > 1)
    return { kind: "attempt", headline: `attempt ${retry.attemptNumber} of ${retry.maxAttempts}${retry.reason ? `; the last one failed: ${retry.reason}` : ""}` };
  return null;
}
