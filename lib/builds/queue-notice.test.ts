import { describe, expect, it } from "vitest";
import { queueNotice } from "./queue-notice";

const at = Date.parse("2026-12-02T12:00:00Z");

describe("queueNotice", () => {
  const waiting = { status: "queued", phaseDetail: null, attempt: 1, maxAttempts: 4, retryAt: "2026-12-02T12:00:09.200Z", retryReason: "The registry 127.0.0.1:5055 is not reachable (ECONNRESET)." };

  it("counts down to the retry and names the attempt and the reason", () => {
    expect(queueNotice(waiting, at)).toEqual({ kind: "retrying", headline: "retrying in 10 s (attempt 2 of 4)", reason: waiting.retryReason });
    expect(queueNotice(waiting, at + 5_000)?.headline).toBe("retrying in 5 s (attempt 2 of 4)");
    expect(queueNotice(waiting, at + 20_000)?.headline).toBe("retrying now (attempt 2 of 4)");
    expect(queueNotice(waiting, null)?.headline).toBe("retrying soon (attempt 2 of 4)");
  });

  it("says why a build waits for its organisation's running builds", () => {
    expect(queueNotice({ status: "queued", phaseDetail: "waiting: your organisation has 2 builds running (limit 2)" }, at)).toEqual({
      kind: "waiting",
      headline: "waiting: your organisation has 2 builds running (limit 2); it starts when one of them ends",
    });
  });

  it("names a later attempt while it runs, and says nothing about a first one or a finished build", () => {
    expect(queueNotice({ ...waiting, status: "running", attempt: 2, retryAt: null }, at)?.headline).toBe(`attempt 2 of 4; the last one failed: ${waiting.retryReason}`);
    expect(queueNotice({ status: "running", phaseDetail: null, attempt: 1, maxAttempts: 4 }, at)).toBeNull();
    expect(queueNotice({ status: "queued", phaseDetail: null, attempt: 0, maxAttempts: 1 }, at)).toBeNull();
    expect(queueNotice({ ...waiting, status: "failed" }, at)).toBeNull();
  });
});
