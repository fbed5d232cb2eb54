// Report output: an aligned table for people, CSV for spreadsheets (money with exactly 6
// decimals), JSON for programs.

import { formatMicros, parseMicros } from '../money.js';
import type { ReportResult } from './query.js';

export type OutputFormat = 'table' | 'csv' | 'json';

function csvCell(v: string | number | null): string {
  if (v === null) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Columns and rows of any tabular result: a report or an analysis. */
export interface Tabular {
  columns: ReadonlyArray<{ name: string; kind: string }>;
  rows: ReadonlyArray<Record<string, string | number | null>>;
}

export function toCsv(result: Tabular): string {
  const names = result.columns.map((c) => c.name);
  const lines = [names.join(',')];
  for (const row of result.rows) lines.push(names.map((n) => csvCell(row[n] ?? null)).join(','));
  return `${lines.join('\n')}\n`;
}

export function formatReport(result: ReportResult, format: OutputFormat): string {
  if (format === 'json') return `${JSON.stringify(result, null, 2)}\n`;
  if (format === 'csv') return toCsv(moneyMetricsAsText(result));
  return toTable(result, `(${result.rows.length} rows, ${result.report}, ${result.grain} in ${result.tz})`);
}

/**
 * Derived money metrics with exactly 6 decimals, like money measures. They arrive as doubles the
 * SQL rounded to 6 decimals, so a double's shortest text is that decimal: it is read as text, not
 * through toFixed.
 */
function moneyMetricsAsText(result: ReportResult): ReportResult {
  const money = result.columns.filter((c) => c.kind === 'metric' && c.money).map((c) => c.name);
  const rows = result.rows.map((r) => {
    const out = { ...r };
    for (const m of money) if (typeof out[m] === 'number') out[m] = formatMicros(parseMicros(String(out[m])));
    return out;
  });
  return { ...result, rows };
}

/** An aligned text table, numbers (measures and metrics) to the right, then a footer line. */
export function toTable(result: Tabular, footer: string): string {
  const names = result.columns.map((c) => c.name);
  const cells = result.rows.map((r) =>
    names.map((n) => (r[n] === null || r[n] === undefined ? '' : String(r[n]))),
  );
  const widths = names.map((n, i) => Math.max(n.length, ...cells.map((c) => c[i]!.length)));
  const right = result.columns.map((c) => c.kind === 'measure' || c.kind === 'metric');
  const fmt = (row: string[]) =>
    row.map((c, i) => (right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  const out = [fmt(names), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(fmt)];
  out.push(footer);
  return `${out.join('\n')}\n`;
}
