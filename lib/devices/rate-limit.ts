// Token buckets in memory, per key (a device, an address): cheap enough to sit in front of every device request.
export interface RateLimit {
  /** Requests allowed per minute; also the burst. */
  perMinute: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly refillPerMs: number;
  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number = Date.now,
  ) {
    this.refillPerMs = limit.perMinute / 60_000;
  }

  /** 0 when the request may go ahead, else the seconds until it may. */
  take(key: string): number {
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= 200_000) this.sweep(now);
      bucket = { tokens: this.limit.perMinute, at: now };
      this.buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(this.limit.perMinute, bucket.tokens + (now - bucket.at) * this.refillPerMs);
      bucket.at = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.refillPerMs / 1000));
  }

  /** Forgets full buckets: a key that has not asked for a minute is as good as new. */
  sweep(now = this.now()): void {
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + (now - bucket.at) * this.refillPerMs >= this.limit.perMinute) this.buckets.delete(key);
    }
  }
}

function perMinute(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a whole number of requests per minute (≥ 1), not "${raw}".`);
  return n;
}

/** Defaults: a device polls every minute, so 60 a minute is ample; an address may front a whole fleet behind NAT. */
export function deviceRateLimits() {
  return {
    perDevice: { perMinute: perMinute("STRATA_DEVICE_RATE_PER_DEVICE", 60) },
    perAddress: { perMinute: perMinute("STRATA_DEVICE_RATE_PER_ADDRESS", 18_000) },
  };
}
