import { describe, expect, it } from "vitest";
import { queueNotice } from "./queue-notice";
import { buildRetry } from "./view";

const at = Date.parse("2026-12-02T12:00:00Z");

describe("queueNotice", () => {
  const reason = "The registry 127.0.0.1:5055 is not reachable (ECONNRESET).";
  // The row after the first attempt met an outage, shaped as the API sends it.
  const row = { status: "queued" as const, attempt: 1, maxAttempts: 4, retryAt: new Date("2026-12-02T12:00:09.200Z"), retryReason: reason };
  const waiting = { status: "queued", phaseDetail: null, retry: buildRetry(row)! };

  it("counts down to the retry and names the attempt and the reason", () => {
    expect(queueNotice(waiting, at)).toEqual({ kind: "retrying", headline: "retrying in 10 s (attempt 2 of 4)", reason });
    expect(queueNotice(waiting, at + 5_000)?.headline).toBe("retrying in 5 s (attempt 2 of 4)");
    expect(queueNotice(waiting, at + 20_000)?.headline).toBe("retrying now (attempt 2 of 4)");
    expect(queueNotice(waiting, null)?.headline).toBe("retrying soon (attempt 2 of 4)");
    expect(queueNotice({ ...waiting, retry: { ...waiting.retry, at: "2026-12-02T12:00:09.200Z" } }, at)?.headline).toBe("retrying in 10 s (attempt 2 of 4)");
  });

  it("says why a build waits for its organisation's running builds", () => {
    expect(queueNotice({ status: "queued", phaseDetail: "waiting: your organisation has 2 builds running (limit 2)" }, at)).toEqual({
      kind: "waiting",
      headline: "waiting: your organisation has 2 builds running (limit 2); it starts when one of them ends",
    });
  });

  it("names a later attempt while it runs, and says nothing about a first one or a finished build", () => {
    const running = buildRetry({ ...row, status: "running", attempt: 2, retryAt: null });
    expect(queueNotice({ status: "running", phaseDetail: null, retry: running }, at)?.headline).toBe(`attempt 2 of 4; the last one failed: ${reason}`);
    expect(buildRetry({ ...row, status: "running", attempt: 1, retryAt: null })).toBeNull();
    expect(queueNotice({ status: "running", phaseDetail: null, retry: null }, at)).toBeNull();
    expect(queueNotice({ status: "queued", phaseDetail: null, retry: buildRetry({ ...row, attempt: 0, maxAttempts: 1, retryAt: null }) }, at)).toBeNull();
    expect(queueNotice({ ...waiting, status: "failed" }, at)).toBeNull();
  });
});
