// Seeded randomness, no dependency: sfc32 for streams and a murmur3-style mix for decisions that must
// be a pure function of (seed, index) so that any chunk can be regenerated on its own.

/** Mixes integers into one well-spread uint32 (murmur3 finaliser over a running hash). */
export function hash32(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    // Split values above 2^32 (event indices) into high and low words so no bits are lost.
    h = Math.imul(h ^ (p >>> 0), 0x85ebca6b);
    h = Math.imul(h ^ Math.floor(p / 0x100000000), 0xc2b2ae35);
    h ^= h >>> 15;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A uniform float in [0, 1) that is a pure function of its inputs. */
export function hashFloat(...parts: number[]): number {
  return hash32(...parts) / 0x100000000;
}

/** sfc32 (Chris Doty-Humphrey's small fast counting generator), 128-bit state. */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(...seed: number[]) {
    this.a = hash32(...seed, 1);
    this.b = hash32(...seed, 2);
    this.c = hash32(...seed, 3);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.next();
  }

  /** A uniform uint32. */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A uniform float in [0, 1). */
  float(): number {
    return this.next() / 0x100000000;
  }

  /** A uniform integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** A uniform integer in [lo, hi], both ends included. */
  between(lo: number, hi: number): number {
    return lo + this.below(hi - lo + 1);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)]!;
  }

  /** A log-uniform rank in [0, n): Zipf-like (density ~ 1/(rank+k)), flattened at the head by k. */
  zipf(n: number, k: number): number {
    return Math.min(n - 1, Math.floor(k * ((n + k) / k) ** this.float() - k));
  }
}

/** Cumulative weights for O(log n) weighted picks. */
export class WeightedPicker<T> {
  private readonly cumulative: Float64Array;

  constructor(
    readonly items: readonly T[],
    weights: readonly number[],
  ) {
    if (items.length === 0 || items.length !== weights.length) throw new Error('weighted pick needs items');
    this.cumulative = new Float64Array(weights.length);
    let sum = 0;
    weights.forEach((w, i) => {
      sum += w;
      this.cumulative[i] = sum;
    });
  }

  pick(rng: Prng): T {
    const x = rng.float() * this.cumulative[this.cumulative.length - 1]!;
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cumulative[mid]! > x) hi = mid;
      else lo = mid + 1;
    }
    return this.items[lo]!;
  }
}
