// Requests per key per minute for the collecting routes: a fixed window counted in one map, cleared
// when the window ends. It replaces @fastify/rate-limit on this path, which cost an async hook, an
// LRU update and three response headers on every pixel.

/** Distinct keys counted in one window before the map is cleared early (a flood of client IPs). */
const MAX_KEYS = 1_000_000;

export class RateLimiter {
  private counts = new Map<string, number>();
  private windowEnd = 0;

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
  ) {}

  /** Counts one request of `key`: 0 when allowed, else the whole seconds until its window ends. */
  take(key: string, now = Date.now()): number {
    if (now >= this.windowEnd || this.counts.size >= MAX_KEYS) {
      this.counts.clear();
      this.windowEnd = now + this.windowMs;
    }
    const n = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, n);
    return n > this.max ? Math.max(1, Math.ceil((this.windowEnd - now) / 1000)) : 0;
  }
}
