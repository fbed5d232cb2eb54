// The query string of GET /v1/reports/:name: its JSON schema (validated by fastify, published in
// OpenAPI) and its translation into a ReportRequest, which checks names against the report model.

import { AdpipeError } from '../../errors.js';
import { GRAINS, periodCount, type ReportRequest, spanDays } from '../../reports/query.js';
import type { ReadLane } from './readers.js';

/** The dates a report may ask for: those of the event contract's times (docs/events.md). */
export const FIRST_DATE = '1970-01-01';
export const LAST_DATE = '9999-12-31';

export const reportQuerySchema = {
  type: 'object',
  properties: {
    from: {
      type: 'string',
      format: 'date',
      description: `First local date, inclusive (YYYY-MM-DD, ${FIRST_DATE} … ${LAST_DATE})`,
    },
    to: {
      type: 'string',
      format: 'date',
      description: `Last local date, inclusive (YYYY-MM-DD, ${FIRST_DATE} … ${LAST_DATE})`,
    },
    tz: { type: 'string', description: 'IANA time zone the dates and periods are in (default: config tz)' },
    grain: { type: 'string', enum: [...GRAINS], description: 'Period of each row (default day)' },
    by: {
      type: 'string',
      description: "Comma-separated dimensions to group by; '' for none; default the report's own",
    },
    metrics: {
      type: 'string',
      description: "Comma-separated derived metrics; default all of the report's; '' for none",
    },
    filter: {
      type: 'array',
      items: { type: 'string', pattern: '^[a-z_]+:' },
      description: 'dim:value1|value2, repeatable',
    },
    order: { type: 'string', description: "A column to sort by, '-' prefix for descending" },
    limit: { type: 'integer', minimum: 1, maximum: 100_000, description: 'At most this many rows (10000)' },
    top: {
      type: 'integer',
      minimum: 1,
      maximum: 1000,
      description: 'Keep the top N dimension combinations, fold the rest into (other)',
    },
    names: { type: 'boolean', description: 'Add <dim>_name columns from metadata' },
    totals: { type: 'boolean', description: 'Add a totals row (default true)' },
    compare: { type: 'string', enum: ['previous'], description: 'Compare totals to the previous period' },
    format: { type: 'string', enum: ['json', 'csv'] },
  },
} as const;

export interface ReportQuery {
  from?: string;
  to?: string;
  tz?: string;
  grain?: ReportRequest['grain'];
  by?: string;
  metrics?: string;
  filter?: string[];
  order?: string;
  limit?: number;
  top?: number;
  names?: boolean;
  totals?: boolean;
  compare?: 'previous';
  format?: 'json' | 'csv';
}

const bad = (param: string, why: string) => new AdpipeError('ADP_ERR_BAD_PARAM', [param, why]);
const list = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

export const DEFAULT_LIMIT = 10_000;

/** Query-string parameters the schema knows; anything else is a 400, not silently ignored. */
export function checkKnownParams(query: object, known: readonly string[]): void {
  for (const k of Object.keys(query)) if (!known.includes(k)) throw bad(k, 'unknown parameter');
}

/**
 * Refuses a time series of more than `maxPeriods` periods before it runs; a range without both
 * dates only has the periods its data has.
 */
export function checkReportSize(req: ReportRequest, maxPeriods: number): void {
  if (!req.from || !req.to) return;
  const grain = req.grain ?? 'day';
  const periods = periodCount(req.from, req.to, grain);
  if (periods > maxPeriods) throw new AdpipeError('ADP_ERR_REPORT_TOO_LARGE', [periods, grain, maxPeriods]);
}

/** Cheap: both dates, over at most `cheapDays` days; anything else may scan the whole rollup. */
export function readLane(req: ReportRequest, cheapDays: number): ReadLane {
  return req.from && req.to && spanDays(req.from, req.to) <= cheapDays ? 'cheap' : 'heavy';
}

export function toReportRequest(report: string, q: ReportQuery, defaultTz: string): ReportRequest {
  const filters: Record<string, string[]> = {};
  for (const f of q.filter ?? []) {
    const at = f.indexOf(':');
    const dim = f.slice(0, at);
    if (filters[dim]) throw bad('filter', `${dim} is given twice; list values as ${dim}:a|b`);
    filters[dim] = f.slice(at + 1).split('|');
  }
  for (const p of ['from', 'to'] as const) {
    const date = q[p];
    if (date !== undefined && (date < FIRST_DATE || date > LAST_DATE))
      throw bad(p, `must be a date from ${FIRST_DATE} to ${LAST_DATE}`);
  }
  return {
    report,
    from: q.from,
    to: q.to,
    tz: q.tz ?? defaultTz,
    grain: q.grain,
    by: q.by === undefined ? undefined : list(q.by),
    filters,
    metrics: q.metrics === undefined ? true : list(q.metrics),
    order: q.order,
    limit: q.limit ?? DEFAULT_LIMIT,
    top: q.top,
    names: q.names,
  };
}
