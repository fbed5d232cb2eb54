// What a SQL dialect provides to sinks: quoting, column types and the statements compiled from a
// SinkTable. Every statement is built from the report model, never hand-written per report.

import type { ColumnRole, SinkMetric, SinkTable } from './table.js';

export interface Dialect {
  readonly name: 'mysql' | 'postgres' | 'clickhouse';
  ident(name: string): string;
  /** A string literal; the one place values are inlined into SQL. */
  literal(value: string): string;
  type(role: ColumnRole): string;
  /** An expression's value as text, so reads compare exactly whatever the driver does with types. */
  asText(expr: string): string;
  /** Creates the report table if absent. */
  createTable(t: SinkTable): string[];
  /** (Re)creates `<table>_v` with the derived metrics. */
  createView(t: SinkTable): string[];
  createWatermark(table: string): string;
  /** Creates the table of each report table's model fingerprint (see modelFingerprint) if absent. */
  createModelTable(table: string): string;
  /** Drops a report table and its view if they exist. */
  dropTable(t: SinkTable): string[];
}

/** The server a session talks to, for statements that depend on the product or its version. */
export interface ServerInfo {
  product: 'mysql' | 'mariadb' | 'postgres';
  /** Major version (PostgreSQL 15 → 15, MariaDB 10.11 → 10). */
  major: number;
}

/** Dialects with transactions, where deltas go through a staging table and an additive upsert. */
export interface MergeDialect extends Dialect {
  readonly name: 'mysql' | 'postgres';
  createStaging(t: SinkTable, staging: string, server?: ServerInfo): string[];
  /**
   * Statements that add the staged deltas onto the table (inserts new keys, adds measures of
   * existing ones), run in the sync transaction after the load.
   */
  mergeFromStaging(t: SinkTable, staging: string, server?: ServerInfo): string[];
  /** Inserts a zero watermark for a table unless it has one. */
  seedWatermark(watermarks: string, table: string): string;
}

/** Dialect-specific exact-enough ratio `num / den * scale` rounded to DERIVED_SCALE places. */
export type Ratio = (num: string, den: string, scale: number) => string;

/** A derived metric over two measure expressions, NULL when the denominator is 0. */
export function metricSelect(
  d: Dialect,
  m: SinkMetric,
  ratio: Ratio,
  measure = (col: string) => col,
): string {
  const num = measure(d.ident(m.num));
  const den = measure(d.ident(m.den));
  return `CASE WHEN ${den} = 0 THEN NULL ELSE ${ratio(num, den, m.scale)} END AS ${d.ident(m.name)}`;
}

/** Column definitions; ClickHouse columns are never NULL unless Nullable and reject the NOT NULL clause. */
export function columnDefs(d: Dialect, t: SinkTable, constraint = ' NOT NULL'): string[] {
  return [...t.keys, ...t.measures].map((c) => `${d.ident(c.name)} ${d.type(c.role)}${constraint}`);
}
