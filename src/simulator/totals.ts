// Exact expected totals for the manifest. Money is summed in integer micros: plain numbers within a
// chunk (each sum stays far below 2^53, so it is exact), folded into BigInt per chunk.

import { EVENT_TYPES, type EventType } from '../events/contract.js';
import { formatMicros, parseMicros } from '../money.js';
import type { SimEvent } from './record.js';
import { HOUR_MS } from './traffic.js';

export interface TypeTotals {
  count: number;
  revenue: string;
  cost: string;
  bid_price: string;
}

/** Totals as they cross a worker boundary and land in manifest.json. */
export interface TotalsJson {
  events: number;
  by_type: Record<EventType, TypeTotals>;
  /** Clean events per event-time hour (ISO hour, UTC) and type. */
  by_hour: Record<string, Partial<Record<EventType, number>>>;
  dirt: Record<string, number>;
}

const TYPE_INDEX = new Map<string, number>(EVENT_TYPES.map((t, i) => [t, i]));
const T = EVENT_TYPES.length;

export class Totals {
  private readonly counts = new Float64Array(T);
  private readonly micros = Array.from({ length: 3 * T }, () => 0n);
  private readonly pending = new Float64Array(3 * T);
  private readonly hourCounts: Float64Array;
  readonly dirt = new Map<string, number>();

  /** First UTC clock hour of the window, as hours since the epoch; a window that starts mid-hour spans hours + 1 clock hours. */
  private readonly baseHour: number;
  private readonly slots: number;

  constructor(startMs: number, hours: number) {
    this.baseHour = Math.floor(startMs / HOUR_MS);
    this.slots = hours + 1;
    this.hourCounts = new Float64Array(this.slots * T);
  }

  add(ev: SimEvent): void {
    const t = ev.type;
    this.counts[t]!++;
    this.pending[3 * t] += ev.revenue;
    this.pending[3 * t + 1] += ev.cost;
    this.pending[3 * t + 2] += ev.bid_price;
    this.hourCounts[(Math.floor(ev.ts / HOUR_MS) - this.baseHour) * T + t]!++;
  }

  /** Moves the per-chunk number sums into BigInt before they could grow past 2^53. */
  fold(): void {
    for (let i = 0; i < this.pending.length; i++) {
      if (this.pending[i] === 0) continue;
      this.micros[i]! += BigInt(this.pending[i]!);
      this.pending[i] = 0;
    }
  }

  countDirt(kind: string): void {
    this.dirt.set(kind, (this.dirt.get(kind) ?? 0) + 1);
  }

  /** Adds totals from another file (possibly another worker). */
  merge(other: TotalsJson): void {
    EVENT_TYPES.forEach((type, t) => {
      const o = other.by_type[type];
      this.counts[t]! += o.count;
      this.micros[3 * t]! += parseMicros(o.revenue);
      this.micros[3 * t + 1]! += parseMicros(o.cost);
      this.micros[3 * t + 2]! += parseMicros(o.bid_price);
    });
    for (const [hour, byType] of Object.entries(other.by_hour)) {
      const h = Date.parse(`${hour}:00:00Z`) / HOUR_MS - this.baseHour;
      for (const [type, n] of Object.entries(byType)) this.hourCounts[h * T + TYPE_INDEX.get(type)!]! += n;
    }
    for (const [kind, n] of Object.entries(other.dirt)) this.dirt.set(kind, (this.dirt.get(kind) ?? 0) + n);
  }

  toJSON(): TotalsJson {
    this.fold();
    const by_type = {} as Record<EventType, TypeTotals>;
    EVENT_TYPES.forEach((type, t) => {
      by_type[type] = {
        count: this.counts[t]!,
        revenue: formatMicros(this.micros[3 * t]!),
        cost: formatMicros(this.micros[3 * t + 1]!),
        bid_price: formatMicros(this.micros[3 * t + 2]!),
      };
    });
    const by_hour: TotalsJson['by_hour'] = {};
    for (let h = 0; h < this.slots; h++) {
      const row: Partial<Record<EventType, number>> = {};
      EVENT_TYPES.forEach((type, t) => {
        const n = this.hourCounts[h * T + t]!;
        if (n > 0) row[type] = n;
      });
      if (Object.keys(row).length > 0)
        by_hour[new Date((this.baseHour + h) * HOUR_MS).toISOString().slice(0, 13)] = row;
    }
    const dirt = Object.fromEntries([...this.dirt].sort(([a], [b]) => a.localeCompare(b)));
    return { events: this.counts.reduce((a, b) => a + b, 0), by_type, by_hour, dirt };
  }
}
