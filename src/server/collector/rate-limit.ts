// Requests per key per minute (a client address, a verified key, an address's failed key checks): a
// fixed window counted in one map, cleared when the window ends. It replaces @fastify/rate-limit on
// the collecting routes, which cost an async hook, an LRU update and three response headers on
// every pixel.

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
    this.roll(now);
    const n = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, n);
    return n > this.max ? this.secondsLeft(now) : 0;
  }

  /** Like take, but counts nothing: 0 while `key` has budget left, else the seconds to wait. */
  wait(key: string, now = Date.now()): number {
    this.roll(now);
    return (this.counts.get(key) ?? 0) >= this.max ? this.secondsLeft(now) : 0;
  }

  private roll(now: number): void {
    if (now >= this.windowEnd || this.counts.size >= MAX_KEYS) {
      this.counts.clear();
      this.windowEnd = now + this.windowMs;
    }
  }

  private secondsLeft(now: number): number {
    return Math.max(1, Math.ceil((this.windowEnd - now) / 1000));
  }
}

/**
 * What a client address is counted as: an IPv4 address itself (IPv4-mapped IPv6 too), an IPv6
 * address by its /64, since a single subscriber usually holds a whole /64 and could otherwise take
 * a fresh address for every request.
 */
export function addressBucket(ip: string): string {
  if (!ip.includes(':')) return ip;
  if (ip.includes('.')) return ip.slice(ip.lastIndexOf(':') + 1);
  const zone = ip.indexOf('%');
  const [head = '', tail] = (zone < 0 ? ip : ip.slice(0, zone)).toLowerCase().split('::');
  const before = head === '' ? [] : head.split(':');
  const after = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups =
    tail === undefined ? before : [...before, ...Array(8 - before.length - after.length).fill('0'), ...after];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
