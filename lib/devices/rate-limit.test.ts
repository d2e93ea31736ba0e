import { describe, expect, it } from "vitest";
import { RateLimiter } from "./rate-limit";

describe("RateLimiter", () => {
  it("allows a burst of perMinute, then asks to wait until a token is back", () => {
    let now = 1_000_000;
    const limiter = new RateLimiter({ perMinute: 6 }, () => now);
    for (let i = 0; i < 6; i++) expect(limiter.take("device-a")).toBe(0);
    // One token every 10 s.
    expect(limiter.take("device-a")).toBe(10);
    now += 4_000;
    expect(limiter.take("device-a")).toBe(6);
    now += 6_000;
    expect(limiter.take("device-a")).toBe(0);
    expect(limiter.take("device-a")).toBe(10);
  });

  it("counts each key on its own", () => {
    const limiter = new RateLimiter({ perMinute: 1 }, () => 0);
    expect(limiter.take("a")).toBe(0);
    expect(limiter.take("a")).toBeGreaterThan(0);
    expect(limiter.take("b")).toBe(0);
  });

  it("forgets keys whose bucket has refilled", () => {
    let now = 0;
    const limiter = new RateLimiter({ perMinute: 2 }, () => now);
    limiter.take("a");
    limiter.take("a");
    now += 60_000;
    limiter.sweep();
    // As good as new: the full burst again.
    expect(limiter.take("a")).toBe(0);
    expect(limiter.take("a")).toBe(0);
    expect(limiter.take("a")).toBeGreaterThan(0);
  });
});
