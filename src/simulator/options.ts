// Options of the simulator, their defaults and their checks, shared by the CLI and the library API.

import { AdpipeError } from '../errors.js';
import { parseEventTime } from '../events/validate.js';

export const OUTPUT_FORMATS = ['jsonl.gz', 'jsonl', 'csv', 'parquet'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** What to simulate; enough for `eventStream`. */
export interface SimOptions {
  events?: number;
  seed?: number;
  /** Start of the time window: ISO-8601 with Z or an offset. */
  start?: string;
  hours?: number;
  /** Number of files the arrival order is split into; late events and retries cross file boundaries. */
  files?: number;
  /** Rate of dirty records (duplicates, late events, alternative forms, malformed records), 0-0.5. */
  dirty?: number;
  /** Share of events in fraud bursts (one user and IP clicking for a minute), 0-0.5. */
  fraud?: number;
}

/** Where and how to write it; for `generate`. */
export interface GenerateOptions extends SimOptions {
  out: string;
  format?: OutputFormat;
  /** Worker threads writing files in parallel; default: one per CPU for large runs, none for small ones. */
  workers?: number;
}

export type Resolved = Required<SimOptions> & { format: OutputFormat; startMs: number };

export const DEFAULTS: Required<SimOptions> & { format: OutputFormat } = {
  events: 100_000,
  seed: 1,
  start: '2025-01-01T00:00:00.000Z',
  hours: 24,
  files: 4,
  dirty: 0,
  fraud: 0.002,
  format: 'jsonl.gz',
};

/** The start of a window of `hours` whole UTC hours that ends at the start of the current hour. */
export function startEndingNow(hours: number, nowMs = Date.now()): string {
  const HOUR = 3_600_000;
  return new Date((Math.floor(nowMs / HOUR) - hours) * HOUR).toISOString();
}

export function resolveOptions(opts: SimOptions & { format?: OutputFormat }): Resolved {
  // Only the simulation's own options: the manifest records them, so paths and worker counts stay out.
  const o = { ...DEFAULTS };
  for (const key of Object.keys(DEFAULTS) as Array<keyof typeof DEFAULTS>) {
    if (opts[key] !== undefined) Object.assign(o, { [key]: opts[key] });
  }
  const bad = (name: string, why: string): never => {
    throw new AdpipeError('ADP_ERR_BAD_PARAM', [name, why]);
  };
  if (!Number.isSafeInteger(o.events) || o.events < 1) bad('events', 'must be a positive integer');
  if (!Number.isSafeInteger(o.seed) || o.seed < 0) bad('seed', 'must be a non-negative integer');
  if (!Number.isInteger(o.hours) || o.hours < 1) bad('hours', 'must be a positive integer');
  if (!Number.isInteger(o.files) || o.files < 1 || o.files > o.events) bad('files', 'must be 1..events');
  if (!(o.dirty >= 0 && o.dirty <= 0.5)) bad('dirty', 'must be between 0 and 0.5');
  if (!(o.fraud >= 0 && o.fraud <= 0.5)) bad('fraud', 'must be between 0 and 0.5');
  if (!OUTPUT_FORMATS.includes(o.format)) bad('format', `must be one of ${OUTPUT_FORMATS.join(', ')}`);
  let startMs = 0;
  try {
    startMs = parseEventTime(o.start);
  } catch {
    bad('start', 'must be an ISO-8601 time with Z or an offset');
  }
  return { ...o, start: new Date(startMs).toISOString(), startMs };
}
