// Report queries over rollups, compiled from the report model for the embedded engine. Local dates
// in any IANA zone come from 15-minute UTC buckets at query time; every user value is a bound
// parameter, every identifier comes from the model.

import { listValue } from '@duckdb/node-api';
import { AdpipeError } from '../errors.js';
import { roundHalfEvenSql } from '../money.js';
import { isCalendarDate, isTimeZone, localMidnightMs } from '../util/zoned.js';
import { sqlIdent as id } from '../warehouse/quote.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import {
  DIMENSIONS,
  derivedMetrics,
  findReport,
  type Measure,
  REPORTS,
  type ReportModel,
  rollupDimensions,
  rollupTable,
  storedMeasures,
} from './model.js';
import { BUCKET_MINUTES } from './rollup.js';

export const GRAINS = ['hour', 'day', 'week', 'month', 'total'] as const;
export type Grain = (typeof GRAINS)[number];

export interface ReportRequest {
  report: string;
  /** Inclusive local dates, YYYY-MM-DD. */
  from?: string;
  to?: string;
  /** Only data before this instant (ISO-8601): the same elapsed part of a period as a partial one. */
  before?: string;
  tz?: string;
  grain?: Grain;
  /** Dimensions to group by; defaults to the report's own. */
  by?: readonly string[];
  /** dimension → allowed values. */
  filters?: Readonly<Record<string, readonly string[]>>;
  /** Derived metric names to add, or true for all of the report's. */
  metrics?: boolean | readonly string[];
  /** A measure, metric or dimension, '-' prefix for descending. */
  order?: string;
  limit?: number;
  /** Only rollup rows written by batches in (after, upTo]: the delta a sink has not applied yet. */
  batches?: { after: number; upTo: number };
  /** Add `<dim>_name` from metadata after each dimension that has names (media_id → media_name). */
  names?: boolean;
  /**
   * Keep the top N combinations of the `by` dimensions (ranked over the whole range by the `order`
   * measure, else the first measure) and fold the rest into one `(other)` row per period.
   */
  top?: number;
}

export interface ReportColumn {
  name: string;
  kind: 'period' | 'dimension' | 'name' | 'measure' | 'metric';
  money?: boolean;
}

export interface ReportResult {
  report: string;
  tz: string;
  grain: Grain;
  columns: ReportColumn[];
  rows: Array<Record<string, string | number | null>>;
}

function bad(param: string, why: string): AdpipeError {
  return new AdpipeError('ADP_ERR_BAD_PARAM', [param, why]);
}

/** Checks a request against the model and fills defaults; every error names the parameter. */
export function resolveRequest(req: ReportRequest): {
  report: ReportModel;
  tz: string;
  grain: Grain;
  by: string[];
  metrics: ReturnType<typeof derivedMetrics>;
} {
  const report = findReport(req.report);
  if (!report)
    throw new AdpipeError('ADP_ERR_REPORT_UNKNOWN', [
      `${req.report} (known: ${REPORTS.map((r) => r.name).join(', ')})`,
    ]);
  const tz = req.tz ?? 'UTC';
  if (!isTimeZone(tz)) throw bad('tz', `${tz} is not an IANA time zone`);
  const grain = req.grain ?? 'day';
  if (!GRAINS.includes(grain)) throw bad('grain', `must be one of ${GRAINS.join(', ')}`);
  for (const [p, v] of [
    ['from', req.from],
    ['to', req.to],
  ] as const) {
    if (v !== undefined && !isCalendarDate(v)) throw bad(p, 'must be a date YYYY-MM-DD');
  }
  if (req.from && req.to && req.from > req.to) throw bad('from', 'must not be after to');
  const allowed = rollupDimensions(report).map((d) => d.name);
  const by = req.by ? [...req.by] : report.dimensions.map((d) => d.name);
  for (const d of by)
    if (!allowed.includes(d))
      throw bad('by', `${d} is not a dimension of ${report.name} (${allowed.join(', ')})`);
  if (new Set(by).size !== by.length) throw bad('by', 'lists a dimension twice');
  for (const d of Object.keys(req.filters ?? {})) {
    if (!allowed.includes(d)) throw bad('filter', `${d} is not a dimension of ${report.name}`);
  }
  const all = derivedMetrics(report);
  let metrics: typeof all = [];
  if (req.metrics === true) metrics = all;
  else if (Array.isArray(req.metrics)) {
    for (const m of req.metrics)
      if (!all.some((d) => d.name === m)) throw bad('metrics', `${m} is not a metric of ${report.name}`);
    metrics = all.filter((d) => req.metrics !== true && (req.metrics as readonly string[]).includes(d.name));
  }
  if (req.limit !== undefined && (!Number.isInteger(req.limit) || req.limit < 1))
    throw bad('limit', 'must be a positive integer');
  if (req.top !== undefined) {
    if (!Number.isInteger(req.top) || req.top < 1) throw bad('top', 'must be a positive integer');
    if (by.length === 0) throw bad('top', 'needs at least one dimension in by');
  }
  return { report, tz, grain, by, metrics };
}

const DAY_MS = 86_400_000;

/** Inclusive local days from `from` to `to` (YYYY-MM-DD). */
export function spanDays(from: string, to: string): number {
  return (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS + 1;
}

/**
 * The most rows of periods a request over [from, to] can produce at its grain (one more hour on a
 * day clocks go back is ignored): what bounds a time series before it runs.
 */
export function periodCount(from: string, to: string, grain: Grain): number {
  const days = spanDays(from, to);
  switch (grain) {
    case 'hour':
      return days * 24;
    case 'day':
      return days;
    case 'week':
      return Math.ceil(days / 7) + 1;
    case 'month': {
      const months = (d: string) => Number(d.slice(0, 4)) * 12 + Number(d.slice(5, 7));
      return months(to) - months(from) + 1;
    }
    case 'total':
      return 1;
  }
}

/**
 * Up to this many days, a range's 15-minute buckets are generated rather than read from the rollup;
 * beyond, generating them would cost more than the report (8000 years are 280M buckets).
 */
const GENERATED_BUCKET_DAYS = 366;

function periodExpr(grain: Grain): string {
  const local = 'timezone($tz, bucket)';
  switch (grain) {
    case 'hour':
      return `strftime(date_trunc('hour', ${local}), '%Y-%m-%dT%H:00')`;
    case 'day':
      return `strftime(${local}, '%Y-%m-%d')`;
    case 'week':
      return `strftime(date_trunc('week', ${local}), '%Y-%m-%d')`;
    case 'month':
      return `strftime(date_trunc('month', ${local}), '%Y-%m')`;
    case 'total':
      return `'total'`;
  }
}

const additive = (m: Measure) => m.kind === 'count' || m.kind === 'sum';

/** Derived metrics from summed additive measures of the rows being grouped (never averaged). */
function metricSelect(metrics: ReturnType<typeof derivedMetrics>): string[] {
  return metrics.map((d) => {
    const num = `sum(${id(d.numerator)})`;
    const den = `sum(${id(d.den)})`;
    return `CASE WHEN ${den} = 0 THEN NULL ELSE round(CAST(${num} AS DOUBLE) / CAST(${den} AS DOUBLE) * ${d.scale}, 6) END AS ${id(d.name)}`;
  });
}

/** A measure summed again over report rows; a distinct count only survives a group of one row. */
function regroupMeasure(m: Measure): string {
  if (m.kind === 'distinct')
    return `CASE WHEN count(*) = 1 THEN any_value(${id(m.name)}) END AS ${id(m.name)}`;
  return `sum(${id(m.name)})${m.kind === 'count' ? '::BIGINT' : ''} AS ${id(m.name)}`;
}

type CompiledReport = { sql: string; params: Record<string, string | string[]>; columns: ReportColumn[] };

/** Compiles a request into SQL with named parameters. */
export function compileReport(req: ReportRequest): CompiledReport {
  const rows = compileRows(req);
  const page = pageOf(req, `(${rows.sql})`, rows.columns);
  return {
    sql: `SELECT * EXCLUDE (_n) FROM (${page.sql}) ${req.limit ? `WHERE _n <= ${req.limit}` : ''} ORDER BY _n`,
    params: rows.params,
    columns: page.columns,
  };
}

/**
 * The rows of a request, top-N folded and named, each numbered (`_n`) in the requested order;
 * `rows` is a relation of report rows from compileRows.
 */
function pageOf(
  req: ReportRequest,
  rows: string,
  rowColumns: ReportColumn[],
): { sql: string; columns: ReportColumn[] } {
  const { report, by, metrics } = resolveRequest(req);
  let sql = req.top
    ? topN(rows, req.top, by, rankMeasure(report, req.order), report, metrics)
    : `SELECT * FROM ${rows}`;
  let columns = rowColumns;
  if (req.names) ({ sql, columns } = withNames(sql, columns, by));
  const orderBy = orderClause(
    req.order,
    by,
    report,
    metrics.map((m) => m.name),
  );
  // The folded rest comes after the rows it is the rest of.
  const otherLast = req.top ? `${id(by[0]!)} = '(other)', ` : '';
  return {
    sql: `SELECT *, row_number() OVER (ORDER BY ${otherLast}${orderBy}) AS _n FROM (${sql})`,
    columns,
  };
}

/**
 * A breakdown's page of rows and its totals from one computation of the report rows (grain
 * `total`): the rollup is scanned once instead of once for the rows and once for the totals. The
 * totals equal compileTotals'.
 */
function compileReportWithTotals(req: ReportRequest): CompiledReport & { totalColumns: string[] } {
  const rows = compileRows(req);
  const { report, metrics } = resolveRequest(req);
  const page = pageOf(req, '(SELECT * FROM report_rows)', rows.columns);
  return {
    sql: `WITH report_rows AS MATERIALIZED (${rows.sql})
SELECT * EXCLUDE (_n) FROM (
  SELECT 0 AS _part, * FROM (${page.sql}) ${req.limit ? `WHERE _n <= ${req.limit}` : ''}
  UNION ALL BY NAME SELECT 1 AS _part, * FROM (${totalsOf(req, 'report_rows')})
) ORDER BY _part, _n`,
    params: rows.params,
    columns: page.columns,
    totalColumns: [...report.measures.map((m) => m.name), ...metrics.map((m) => m.name)],
  };
}

/**
 * One row of sums over every report row the request selects (not just the first `limit`), with
 * derived metrics computed from those sums. `ALL` rows are left out: they repeat other rows.
 */
export function compileTotals(req: ReportRequest): CompiledReport {
  const rows = compileRows({ ...req, grain: 'total' });
  const columns = rows.columns.filter((c) => c.kind !== 'dimension');
  return { sql: totalsOf(req, `(${rows.sql})`), params: rows.params, columns };
}

/** The totals row over a relation of report rows: measures regrouped, metrics from the sums. */
function totalsOf(req: ReportRequest, rows: string): string {
  const { report, by, metrics } = resolveRequest(req);
  return `SELECT 'total' AS period, ${[...report.measures.map(regroupMeasure), ...metricSelect(metrics)].join(', ')}
FROM ${rows} ${withoutAllRows(report, by)}`;
}

/** A WHERE clause leaving out `ALL` rows, which repeat the rows they sum. */
function withoutAllRows(report: ReportModel, by: readonly string[]): string {
  const allDims = report.allDimensions.filter((d) => by.includes(d));
  return allDims.length ? `WHERE ${allDims.map((d) => `${id(d)} <> 'ALL'`).join(' AND ')}` : '';
}

function rankMeasure(report: ReportModel, order: string | undefined): string {
  const key = order?.replace(/^-/, '');
  return report.measures.find((m) => m.name === key)?.name ?? report.measures[0]!.name;
}

function topN(
  rowsSql: string,
  top: number,
  by: string[],
  rankBy: string,
  report: ReportModel,
  metrics: ReturnType<typeof derivedMetrics>,
): string {
  const dims = by.map(id).join(', ');
  const folded = by.map(
    (d) => `CASE WHEN ranks.rk <= ${top} THEN base.${id(d)} ELSE '(other)' END AS ${id(d)}`,
  );
  return `WITH base AS (SELECT * FROM (${rowsSql}) ${withoutAllRows(report, by)}),
ranks AS (SELECT ${dims}, row_number() OVER (ORDER BY sum(${id(rankBy)}) DESC NULLS LAST, ${dims}) AS rk
  FROM base GROUP BY ${dims})
SELECT period, ${[...folded, ...report.measures.map(regroupMeasure), ...metricSelect(metrics)].join(',\n  ')}
FROM base JOIN ranks ON ${by.map((d) => `base.${id(d)} IS NOT DISTINCT FROM ranks.${id(d)}`).join(' AND ')}
GROUP BY ALL`;
}

/** The name column shown beside a dimension with metadata: media_id → media_name. */
export function nameColumn(dimension: string): string {
  return `${dimension.replace(/_id$/, '')}_name`;
}

function withNames(sql: string, columns: ReportColumn[], by: string[]): Omit<CompiledReport, 'params'> {
  const named = by.flatMap((d) => {
    const names = Object.values(DIMENSIONS).find((x) => x.name === d)?.names;
    return names ? [{ d, names }] : [];
  });
  if (named.length === 0) return { sql, columns };
  const joins = named
    .map(({ d, names }, i) => `LEFT JOIN ${id(names.table)} n${i} ON n${i}.${id(names.key)} = q.${id(d)}`)
    .join('\n');
  const select = named.map(({ d }, i) => `n${i}.name AS ${id(nameColumn(d))}`).join(', ');
  const out = columns.flatMap((c) =>
    named.some((n) => n.d === c.name) ? [c, { name: nameColumn(c.name), kind: 'name' as const }] : [c],
  );
  return { sql: `SELECT q.*, ${select} FROM (${sql}) q\n${joins}`, columns: out };
}

// The instants a request's inclusive local dates span: [start of `from`, start of the day after `to`).
// SQL over named parameters $tz, $from and $to; the analyses bound their event scans with them too.
export const RANGE_START = 'timezone($tz, $from::DATE::TIMESTAMP)';
export const RANGE_END = 'timezone($tz, ($to::DATE + 1)::TIMESTAMP)';

/** The report rows a request selects, unordered and unlimited. */
function compileRows(req: ReportRequest): CompiledReport {
  const { report, tz, grain, by, metrics } = resolveRequest(req);
  const params: Record<string, string | string[]> = { tz };
  const where: string[] = [];
  if (req.from) {
    params.from = req.from;
    where.push(`bucket >= ${RANGE_START}`);
  }
  if (req.to) {
    params.to = req.to;
    where.push(`bucket < ${RANGE_END}`);
  }
  if (req.before) {
    params.before = req.before;
    where.push('bucket < $before::TIMESTAMPTZ');
  }
  if (req.batches) {
    const { after, upTo } = req.batches;
    if (!Number.isSafeInteger(after) || !Number.isSafeInteger(upTo)) throw bad('batches', 'must be integers');
    where.push(`batch_id > ${after} AND batch_id <= ${upTo}`);
  }
  Object.entries(req.filters ?? {}).forEach(([dim, values], i) => {
    params[`f${i}`] = [...values];
    where.push(`list_contains($f${i}::VARCHAR[], ${id(dim)})`);
  });

  const stored = storedMeasures(report);
  const shares = report.measures.filter((m) => m.kind === 'share');
  const distinct = report.measures.filter((m) => m.kind === 'distinct');
  const reportDims = report.dimensions.map((d) => d.name);
  // Inner rows: the report's own grain (plus requested extras) where share measures are rounded;
  // without shares, the requested grain is enough (measures are non-negative, so dropping zero rows
  // there drops the same rows) and far fewer groups are built.
  const innerDims = [
    ...new Set([...(shares.length ? reportDims : []), ...by, ...distinct.map((m) => m.column)]),
  ];
  const src = report.shareSource;
  const shareOf = (m: Measure & { kind: 'share' }, gross: string, share: string) => {
    const media = roundHalfEvenSql(`CAST(${gross} AS DECIMAL(24,6)) * coalesce(${share}, 0)`);
    return m.complement ? `(${gross} - ${media})::DECIMAL(38,6)` : media;
  };
  const table = id(rollupTable(report));
  const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
  // Local periods are computed once per distinct bucket (a few thousand), not per rollup row: the
  // time zone conversion is the costly part of a report over millions of rows. With both dates
  // of a range up to a year the buckets are known without scanning the table for them.
  const step = `INTERVAL '${BUCKET_MINUTES} minutes'`;
  const buckets =
    req.from && req.to && spanDays(req.from, req.to) <= GENERATED_BUCKET_DAYS
      ? `SELECT unnest(generate_series(${RANGE_START}, ${RANGE_END} - ${step}, ${step})) AS bucket`
      : `SELECT DISTINCT bucket FROM ${table} ${filter}`;
  // Shares are dated: rows are split by local day (`day`) so each day gets the share in force then.
  const bucketColumns = [
    ...(grain === 'total' ? [] : [`${periodExpr(grain)} AS period`]),
    ...(src ? ['timezone($tz, bucket)::DATE AS day'] : []),
  ];
  const source = bucketColumns.length
    ? `${table} JOIN (SELECT bucket, ${bucketColumns.join(', ')} FROM (${buckets})) USING (bucket) ${filter}`
    : `${table} ${filter}`;
  const inner = `SELECT ${[
    grain === 'total' ? `'total' AS period` : 'period',
    ...(src ? ['day'] : []),
    ...innerDims.map(id),
    ...stored.map((m) => `sum(${id(m.name)}) AS ${id(m.name)}`),
  ].join(', ')}
  FROM ${source}
  GROUP BY ALL
  HAVING ${stored.map((m) => `sum(${id(m.name)}) <> 0`).join(' OR ')}`;
  const innerWithShares = src
    ? `SELECT r.*, s.share AS share_value, ${shares
        .map((m) => `${shareOf(m, `r.${id(m.of)}`, 's.share')} AS ${id(m.name)}`)
        .join(', ')}
       FROM (${inner}) r ASOF LEFT JOIN ${sharesInForce(src, req.batches?.upTo)} s
         ON s.${id(src.key)} = r.${id(src.key)} AND r.day >= s.valid_from`
    : inner;

  // Outer rows: the requested grouping, with ALL rows for the report's ALL dimensions.
  const allDims = report.allDimensions.filter((d) => by.includes(d));
  const plainDims = by.filter((d) => !allDims.includes(d));
  const dimSelect = by.map((d) =>
    allDims.includes(d) ? `CASE WHEN grouping(${id(d)}) = 1 THEN 'ALL' ELSE ${id(d)} END AS ${id(d)}` : id(d),
  );
  const shareKeyKept = src && by.includes(src.key);
  const measureSelect = report.measures.map((m) => {
    if (additive(m)) return `sum(${id(m.name)})${m.kind === 'count' ? '::BIGINT' : ''} AS ${id(m.name)}`;
    if (m.kind === 'share') {
      return shareKeyKept
        ? `${shareOf(m, `sum(${id(m.of)})`, 'any_value(share_value)')} AS ${id(m.name)}`
        : `sum(${id(m.name)}) AS ${id(m.name)}`;
    }
    return `count(DISTINCT ${id(m.column)}) FILTER (WHERE ${id(m.column)} <> '') AS ${id(m.name)}`;
  });
  const groupKeys = ['period', ...(src ? ['day'] : []), ...plainDims.map(id)];
  const groupBy = allDims.length
    ? `GROUP BY ${groupKeys.join(', ')}, CUBE (${allDims.map(id).join(', ')})`
    : `GROUP BY ${groupKeys.join(', ')}`;
  const outer = (
    lead: string[],
    rowMetrics: string[],
  ) => `SELECT ${[...lead, ...dimSelect, ...measureSelect, ...rowMetrics].join(',\n  ')}
FROM (${innerWithShares})
${groupBy}`;
  // With shares, the days of a period (one for hours and days) are summed last.
  const sql = src
    ? `SELECT period, ${[...by.map(id), ...report.measures.map(regroupMeasure), ...metricSelect(metrics)].join(',\n  ')}
FROM (${outer(['period', 'day'], [])})
GROUP BY ${['period', ...by.map(id)].join(', ')}`
    : outer(['period'], metricSelect(metrics));
  // Only bind what the SQL uses (a total over all dates never mentions the zone): DuckDB refuses extras.
  for (const k of Object.keys(params)) if (!new RegExp(`\\$${k}\\b`).test(sql)) delete params[k];

  const columns: ReportColumn[] = [
    { name: grain === 'total' ? 'period' : grain === 'day' ? 'date' : grain, kind: 'period' },
    ...by.map((name) => ({ name, kind: 'dimension' as const })),
    ...report.measures.map((m) => ({
      name: m.name,
      kind: 'measure' as const,
      money: m.kind === 'sum' || m.kind === 'share',
    })),
    ...metrics.map((m) => ({ name: m.name, kind: 'metric' as const, money: m.format === 'money' })),
  ];
  return { sql, params, columns };
}

/**
 * The shares in force per key from each valid_from on, as the reports of batches up to `version` saw
 * them (all of them without one): of several versions of one day, the latest.
 */
function sharesInForce(src: NonNullable<ReportModel['shareSource']>, version: number | undefined): string {
  const upTo = version === undefined ? '' : `WHERE since_batch <= ${version}`;
  return `(SELECT ${id(src.key)}, valid_from, arg_max(${id(src.column)}, since_batch) AS share
    FROM ${id(src.table)} ${upTo} GROUP BY ALL)`;
}

function orderClause(
  order: string | undefined,
  by: string[],
  report: ReportModel,
  metrics: string[],
): string {
  const natural = ['period', ...by.map(id)].join(', ');
  if (!order) return natural;
  const desc = order.startsWith('-');
  const key = desc ? order.slice(1) : order;
  const known = ['period', ...by, ...report.measures.map((m) => m.name), ...metrics];
  if (!known.includes(key)) throw bad('order', `${key} is not a column of this report (${known.join(', ')})`);
  return `${key === 'period' ? 'period' : id(key)} ${desc ? 'DESC' : 'ASC'} NULLS LAST, ${natural}`;
}

async function runCompiled(wh: Warehouse, { sql, params, columns }: CompiledReport) {
  const bound = Object.fromEntries(
    Object.entries(params).map(([k, v]) => [k, Array.isArray(v) ? listValue(v) : v]),
  );
  const raw = await wh.all(sql, bound);
  const periodName = columns[0]!.name;
  return raw.map((r) => {
    const out: Record<string, string | number | null> = { [periodName]: r.period as string };
    for (const c of columns.slice(1)) {
      const v = r[c.name];
      out[c.name] =
        c.kind === 'measure' && !c.money && v !== null ? Number(v) : (v as string | number | null);
    }
    return out;
  });
}

export async function runReport(wh: Warehouse, req: ReportRequest): Promise<ReportResult> {
  const { tz, grain } = resolveRequest(req);
  const compiled = compileReport(req);
  return { report: req.report, tz, grain, columns: compiled.columns, rows: await runCompiled(wh, compiled) };
}

/** The totals row of a request (see compileTotals), keyed by measure and metric name. */
export async function runReportTotals(
  wh: Warehouse,
  req: ReportRequest,
): Promise<Record<string, string | number | null>> {
  const [row] = await runCompiled(wh, compileTotals(req));
  const { period: _period, ...totals } = row!;
  return totals;
}

/** A report and its totals row; a breakdown (grain total) computes both from one scan. */
export async function runReportWithTotals(
  wh: Warehouse,
  req: ReportRequest,
): Promise<{ result: ReportResult; totals: Record<string, string | number | null> }> {
  const { tz, grain } = resolveRequest(req);
  if (grain !== 'total') return { result: await runReport(wh, req), totals: await runReportTotals(wh, req) };
  const compiled = compileReportWithTotals(req);
  const raw = await runCompiled(wh, {
    ...compiled,
    columns: [...compiled.columns, { name: '_part', kind: 'period' }],
  });
  const rows = raw.filter((r) => r._part === 0);
  const totalRow = raw.find((r) => r._part === 1)!;
  for (const r of rows) delete r._part;
  const totals = Object.fromEntries(compiled.totalColumns.map((c) => [c, totalRow[c] ?? null]));
  return { result: { report: req.report, tz, grain, columns: compiled.columns, rows }, totals };
}

/**
 * The period to compare [from, to] (inclusive local dates in tz) with: as many days just before it.
 * While [from, to] is still running at `nowMs` it holds data only up to `dataUntilMs` (the newest
 * event, at most now), so the previous period is cut (`before`) at the same time since its start:
 * a partial day is compared with the same hours of the day before, not with all of it.
 */
export function previousRange(
  from: string,
  to: string,
  tz = 'UTC',
  nowMs = Date.now(),
  dataUntilMs = nowMs,
): { from: string; to: string; before?: string } {
  const start = Date.parse(`${from}T00:00:00Z`);
  const days = spanDays(from, to);
  const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  const previous = { from: iso(start - days * DAY_MS), to: iso(start - DAY_MS) };
  const running = nowMs < localMidnightMs(iso(start + days * DAY_MS), tz);
  const elapsed = Math.min(nowMs, dataUntilMs) - localMidnightMs(from, tz);
  if (!running || elapsed <= 0) return previous;
  return { ...previous, before: new Date(localMidnightMs(previous.from, tz) + elapsed).toISOString() };
}
