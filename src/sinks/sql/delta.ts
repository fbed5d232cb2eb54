// A sink table's delta, computed by the embedded engine from the rollups of batches in
// (after, upTo]: the report at day grain in the sink's zone (ALL rows included), written by DuckDB
// as a CSV file the sink bulk-loads. Additive measures come straight from those batches; share
// measures are rounded per report row, so their delta is (value over batches ≤ upTo) − (value over
// batches ≤ after) for the touched keys, which telescopes to exactly the embedded report's value.
// Each side uses the share history as of its batch, so a share change (a metadata batch) reaches
// the sink as the difference it makes on the days it is in force.

import { compileReport, type ReportRequest } from '../../reports/query.js';
import { sqlIdent as id, sqlString } from '../../warehouse/quote.js';
import type { Warehouse } from '../../warehouse/warehouse.js';
import { columnsOf, DATE_FIELD, type SinkTable } from './table.js';

/** Local dates (in tz) of the events of batches in (after, upTo]; undefined when they have none. */
async function touchedDates(wh: Warehouse, tz: string, after: number, upTo: number) {
  const row = await wh.one<{ from: string | null; to: string | null }>(
    `SELECT strftime(timezone($tz, min(min_ts)), '%Y-%m-%d') AS "from", strftime(timezone($tz, max(max_ts)), '%Y-%m-%d') AS "to"
     FROM batches WHERE batch_id > ${after} AND batch_id <= ${upTo}`,
    { tz },
  );
  return row?.from && row.to ? { from: row.from, to: row.to } : undefined;
}

/** The first local day a share recorded by batches in (after, upTo] is in force; undefined if none. */
async function shareChangedFrom(wh: Warehouse, table: string, after: number, upTo: number) {
  const row = await wh.one<{ from: string | null }>(
    `SELECT min(valid_from)::VARCHAR AS "from" FROM ${id(table)} WHERE since_batch > ${after} AND since_batch <= ${upTo}`,
  );
  return row?.from ?? undefined;
}

/**
 * Writes the delta of t for batches in (after, upTo] to file (CSV, no header, the table's columns in
 * order, plus upTo and the loader id as last columns when tagged) and returns its row count.
 */
export async function writeDelta(
  wh: Warehouse,
  t: SinkTable,
  tz: string,
  range: { after: number; upTo: number },
  file: string,
  tag?: { loader: string },
): Promise<number> {
  const base: ReportRequest = { report: t.report.name, grain: 'day', tz };
  const delta = compileReport({ ...base, batches: range });
  const dims = t.report.dimensions.map((d) => d.name);
  const shares = new Set(t.report.measures.filter((m) => m.kind === 'share').map((m) => m.name));
  let source = `(${delta.sql}) d`;
  let params: Record<string, string | string[]> = delta.params;
  let measure = (field: string) => `d.${id(field)}`;
  const src = t.report.shareSource;
  if (src) {
    // Keys the batches touched, and every key from the first day a changed share is in force on.
    let dates: { from: string; to?: string } | undefined = await touchedDates(
      wh,
      tz,
      range.after,
      range.upTo,
    );
    const shareFrom = await shareChangedFrom(wh, src.table, range.after, range.upTo);
    if (shareFrom) dates = { from: dates && dates.from < shareFrom ? dates.from : shareFrom };
    const upTo = compileReport({ ...base, ...dates, batches: { after: 0, upTo: range.upTo } });
    const after = compileReport({ ...base, ...dates, batches: { after: 0, upTo: range.after } });
    const using = `USING (period, ${dims.map(id).join(', ')})`;
    source = `(${upTo.sql}) u LEFT JOIN ${source} ${using} LEFT JOIN (${after.sql}) a ${using}`;
    const touched = [`d.${id(t.measures[0]!.field)} IS NOT NULL`];
    for (const f of shares) touched.push(`u.${id(f)} IS DISTINCT FROM a.${id(f)}`);
    source = `${source} WHERE ${touched.join(' OR ')}`;
    params = { ...params, ...upTo.params, ...after.params };
    measure = (field) =>
      shares.has(field) ? `u.${id(field)} - coalesce(a.${id(field)}, 0)` : `coalesce(d.${id(field)}, 0)`;
  }
  const select = columnsOf(t).map((c) => {
    if (c.field === DATE_FIELD) return 'period';
    return c.role === 'dimension' ? id(c.field) : measure(c.field);
  });
  if (tag) select.push(String(range.upTo), sqlString(tag.loader));
  const keys = ['period', ...dims.map(id)];
  const result = await wh.one<{ Count: string }>(
    `COPY (SELECT ${select.join(', ')} FROM ${source} ORDER BY ${keys.join(', ')}) TO ${sqlString(file)} (FORMAT csv, HEADER false)`,
    params as Record<string, string>,
  );
  return Number(result!.Count);
}
