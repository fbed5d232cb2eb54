// A report as a sink table, independent of any database: which columns it has (the date, the
// report's dimensions, its measures), what they are called in the target schema and which derived
// metrics a view adds. Dialects compile DDL, upserts and views from this description.

import { AdpipeError } from '../../errors.js';
import { derivedMetrics, findReport, REPORTS, type ReportModel } from '../../reports/model.js';
import type { SqlSinkConfig } from './config.js';

export type ColumnRole = 'date' | 'dimension' | 'count' | 'money';

export interface SinkColumn {
  /** The name in the report model ('date' for the day). */
  field: string;
  /** The name in the sink's table. */
  name: string;
  role: ColumnRole;
}

export interface SinkMetric {
  name: string;
  /** Sink column names. */
  num: string;
  den: string;
  scale: number;
}

export interface SinkTable {
  report: ReportModel;
  name: string;
  /** Primary key: the date then the report's dimensions. */
  keys: SinkColumn[];
  measures: SinkColumn[];
  metrics: SinkMetric[];
}

export const DATE_FIELD = 'date';

export function columnsOf(t: SinkTable): SinkColumn[] {
  return [...t.keys, ...t.measures];
}

export function viewName(t: SinkTable): string {
  return `${t.name}_v`;
}

/** The tables a sink keeps: its reports (default all), named by its mapping or prefix + report name. */
export function sinkTables(
  sink: Pick<SqlSinkConfig, 'reports' | 'table_prefix' | 'tables' | 'columns'>,
): SinkTable[] {
  const names = sink.reports ?? REPORTS.map((r) => r.name);
  return names.map((name) => {
    const report = findReport(name);
    if (!report) throw new AdpipeError('ADP_ERR_REPORT_UNKNOWN', [name]);
    const mapped = sink.columns[name] ?? {};
    const col = (field: string, role: ColumnRole): SinkColumn => ({
      field,
      name: mapped[field] ?? field,
      role,
    });
    // Distinct counts are not additive, so no delta of them can be upserted.
    const measures = report.measures
      .filter((m) => m.kind !== 'distinct')
      .map((m) => col(m.name, m.kind === 'count' ? 'count' : 'money'));
    const byField = new Map(measures.map((c) => [c.field, c.name]));
    return {
      report,
      name: sink.tables[name] ?? `${sink.table_prefix}${name}`,
      keys: [col(DATE_FIELD, 'date'), ...report.dimensions.map((d) => col(d.name, 'dimension'))],
      measures,
      metrics: derivedMetrics(report).map((d) => ({
        name: d.name,
        num: byField.get(d.numerator)!,
        den: byField.get(d.den)!,
        scale: d.scale,
      })),
    };
  });
}
