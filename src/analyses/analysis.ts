// What an analysis is: a name, a zod schema of its parameters and a run function over the lake
// returning columns, rows and metadata. defineAnalysis wraps the steps they all share: parse the
// parameters, resolve the date range in the zone, count the events left out for want of a user.

import type { z } from 'zod';
import type { Config } from '../config.js';
import { AdpipeError } from '../errors.js';
import { lakeRelation } from '../lake/lake.js';
import { RANGE_END, RANGE_START } from '../reports/query.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import { type Activity, activityOf } from './activity.js';
import type { rangeParams } from './params.js';
import { localDate, select, userEvents } from './sql.js';

/** count: integers (BIGINT in SQL, numbers in JSON); decimal: exact decimal strings; number: JS numbers. */
export type ColumnType = 'text' | 'count' | 'decimal' | 'number';

export interface AnalysisColumn {
  name: string;
  kind: 'period' | 'dimension' | 'measure' | 'metric';
  type: ColumnType;
}

export type Value = string | number | null;
export type Row = Record<string, Value>;

/** Inclusive local dates in an IANA zone. */
export type DateRange = {
  from: string;
  to: string;
  tz: string;
};

export interface AnalysisInput {
  wh: Warehouse;
  config: Config;
  /** The lake as a relation (all committed files). */
  lake: string;
  /** The derived activity tables, as of the same batches. */
  activity: Activity;
  /** Also the SQL parameters $tz, $from and $to of RANGE_START and RANGE_END. */
  range: DateRange;
}

export interface AnalysisOutput {
  columns: AnalysisColumn[];
  rows: Row[];
  meta?: Record<string, unknown>;
  /** Lines a person should see (the table output prints them under the rows). */
  warnings?: string[];
}

export interface AnalysisResult {
  analysis: string;
  columns: AnalysisColumn[];
  rows: Row[];
  meta: Record<string, unknown> & DateRange & { events_without_user: number; warnings: string[] };
}

export interface Analysis {
  name: string;
  title: string;
  /** Parameter names beyond from/to/tz, as the CLI (kebab-case) and the API (snake_case) spell them. */
  options: string[];
  run(wh: Warehouse, config: Config, raw: Record<string, unknown>): Promise<AnalysisResult>;
}

interface AnalysisSpec<S extends z.ZodObject> {
  name: string;
  title: string;
  /** Must extend rangeParams; strict, so a parameter of another analysis is an error, not ignored. */
  params: S;
  run(input: AnalysisInput, params: z.output<S>): Promise<AnalysisOutput>;
}

const bad = (param: string, why: string) => new AdpipeError('ADP_ERR_BAD_PARAM', [param, why]);

export function parseParams<S extends z.ZodObject>(
  name: string,
  schema: S,
  raw: Record<string, unknown>,
): z.output<S> {
  const defined = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined));
  const result = schema.strict().safeParse(defined);
  if (result.success) return result.data as z.output<S>;
  const issue = result.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') throw bad(issue.keys.join(', '), `not a parameter of ${name}`);
  throw bad(issue.path.join('.') || '(params)', issue.message);
}

/**
 * The first and last local dates with user events, for a range given only in part (or not at all).
 * `events` has user_id and ts: the lake, or the activity's quarters (each in one local date).
 */
async function dataDates(
  wh: Warehouse,
  events: string,
  tz: string,
): Promise<{ first?: string; last?: string }> {
  const [row] = await select<{ first: string | null; last: string | null }>(
    wh,
    `SELECT strftime(${localDate('min(ts)')}, '%Y-%m-%d') AS first, strftime(${localDate('max(ts)')}, '%Y-%m-%d') AS last
     FROM ${userEvents(events)}`,
    { tz },
  );
  return { first: row?.first ?? undefined, last: row?.last ?? undefined };
}

/**
 * The range to analyse: the given dates, else the data's first/last date — never crossing a given
 * one, so `--from` alone after the data is a range of one day, not an error — else today.
 */
export async function resolveRange(
  wh: Warehouse,
  events: string,
  tz: string,
  given: { from?: string; to?: string },
): Promise<DateRange> {
  if (given.from && given.to) {
    if (given.from > given.to) throw bad('from', 'must not be after to');
    return { tz, from: given.from, to: given.to };
  }
  const data = await dataDates(wh, events, tz);
  const today = new Intl.DateTimeFormat('en-CA', { timeZone: tz }).format(new Date());
  const earlier = (a: string, b: string) => (a < b ? a : b);
  const from = given.from ?? (given.to ? earlier(data.first ?? given.to, given.to) : (data.first ?? today));
  const to = given.to ?? (data.last && data.last > from ? data.last : from);
  return { tz, from, to };
}

export function defineAnalysis<S extends z.ZodObject>(spec: AnalysisSpec<S>): Analysis {
  const rangeKeys = ['from', 'to', 'tz'];
  return {
    name: spec.name,
    title: spec.title,
    options: Object.keys(spec.params.shape).filter((k) => !rangeKeys.includes(k)),
    async run(wh, config, raw) {
      const params = parseParams(spec.name, spec.params, raw);
      const given = params as z.output<typeof rangeParams>;
      const lake = await lakeRelation(wh);
      const activity = await activityOf(wh);
      const quarters = `(SELECT user_id, quarter AS ts FROM ${activity.quarters})`;
      const range = await resolveRange(wh, quarters, given.tz ?? config.tz, given);
      const [left] = await select<{ n: string }>(
        wh,
        `SELECT coalesce(sum(events), 0) AS n FROM ${activity.quarters}
         WHERE user_id IS NULL AND quarter >= ${RANGE_START} AND quarter < ${RANGE_END}`,
        range,
      );
      const out = await spec.run({ wh, config, lake, activity, range }, params);
      const counts = out.columns.filter((c) => c.type === 'count').map((c) => c.name);
      const rows = out.rows.map((r) => {
        const row = { ...r };
        for (const c of counts) if (row[c] !== null && row[c] !== undefined) row[c] = Number(row[c]);
        return row;
      });
      return {
        analysis: spec.name,
        columns: out.columns,
        rows,
        meta: {
          ...range,
          ...out.meta,
          events_without_user: Number(left?.n ?? 0),
          warnings: out.warnings ?? [],
        },
      };
    },
  };
}

/** Column shorthands. */
export const col = {
  date: (name = 'date'): AnalysisColumn => ({ name, kind: 'period', type: 'text' }),
  dim: (name: string): AnalysisColumn => ({ name, kind: 'dimension', type: 'text' }),
  count: (name: string): AnalysisColumn => ({ name, kind: 'measure', type: 'count' }),
  decimal: (name: string): AnalysisColumn => ({ name, kind: 'metric', type: 'decimal' }),
  number: (name: string): AnalysisColumn => ({ name, kind: 'metric', type: 'number' }),
};
