// When traffic happens: a local-time diurnal and weekly curve per country, turned into an exact event budget per
// UTC hour and cut into fixed-size chunks. A chunk is the unit of determinism: its events depend only
// on (seed, chunk), so files can be generated in any order, in parallel, and chunks regenerated.

import { COUNTRIES } from './catalogue.js';

/** Relative traffic by local hour 0-23: trough around 04:00, peak around 21:00. */
export const DIURNAL: readonly number[] = [
  0.35, 0.25, 0.18, 0.14, 0.12, 0.14, 0.22, 0.38, 0.55, 0.62, 0.66, 0.7, 0.76, 0.74, 0.7, 0.7, 0.72, 0.76,
  0.82, 0.9, 0.97, 1, 0.88, 0.6,
];

/** Relative traffic by local weekday, Sunday first: in-app traffic peaks at the weekend, dips early in the week. */
export const WEEKLY: readonly number[] = [1.12, 0.9, 0.93, 0.96, 0.98, 1.04, 1.15];

export const HOUR_MS = 3_600_000;
/** Events per chunk: small enough to regenerate cheaply, large enough to amortise per-chunk work. */
export const CHUNK_EVENTS = 4096;

export function localHour(utcMs: number, tz: number): number {
  return (((Math.floor(utcMs / HOUR_MS) + tz) % 24) + 24) % 24;
}

/** Local weekday 0-6, Sunday first (1970-01-01 was a Thursday). */
export function localWeekday(utcMs: number, tz: number): number {
  return (((Math.floor((Math.floor(utcMs / HOUR_MS) + tz) / 24) + 4) % 7) + 7) % 7;
}

/** Relative weight of each country in the hour starting at utcMs: population share times local curves. */
export function countryWeights(utcMs: number): number[] {
  return COUNTRIES.map(
    (c) => c.share * DIURNAL[localHour(utcMs, c.tz)]! * WEEKLY[localWeekday(utcMs, c.tz)]!,
  );
}

export interface Chunk {
  hour: number;
  /** Global index of the chunk's first event. */
  start: number;
  size: number;
  /** Offset of the chunk inside its hour's budget, which places its events in time. */
  offsetInHour: number;
}

export interface Plan {
  startMs: number;
  hours: number;
  events: number;
  files: number;
  /** Exact number of events per hour, summing to `events`. */
  hourBudget: readonly number[];
  chunks: readonly Chunk[];
}

export function makePlan(startMs: number, hours: number, events: number, files: number): Plan {
  const weights = Array.from({ length: hours }, (_, h) =>
    countryWeights(startMs + h * HOUR_MS).reduce((a, b) => a + b, 0),
  );
  const hourBudget = apportion(events, weights);
  const chunks: Chunk[] = [];
  let start = 0;
  hourBudget.forEach((budget, hour) => {
    for (let offset = 0; offset < budget; offset += CHUNK_EVENTS) {
      const size = Math.min(CHUNK_EVENTS, budget - offset);
      chunks.push({ hour, start, size, offsetInHour: offset });
      start += size;
    }
  });
  return { startMs, hours, events, files, hourBudget, chunks };
}

/** Splits total into integer parts proportional to weights (largest remainder), summing exactly. */
export function apportion(total: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (total * w) / sum);
  const parts = exact.map(Math.floor);
  let left = total - parts.reduce((a, b) => a + b, 0);
  const order = exact
    .map((x, i) => [x - Math.floor(x), i] as const)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of order) {
    if (left-- <= 0) break;
    parts[i]!++;
  }
  return parts;
}

/** Global event range [from, to) of a file: files split the arrival order evenly. */
export function fileRange(plan: Plan, file: number): readonly [number, number] {
  return [Math.floor((plan.events * file) / plan.files), Math.floor((plan.events * (file + 1)) / plan.files)];
}

/** Indices of the chunks that overlap [from, to). */
export function chunksIn(plan: Plan, from: number, to: number): number[] {
  const out: number[] = [];
  let lo = 0;
  let hi = plan.chunks.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = plan.chunks[mid]!;
    if (c.start + c.size <= from) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < plan.chunks.length && plan.chunks[i]!.start < to; i++) out.push(i);
  return out;
}
