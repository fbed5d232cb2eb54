// ClickHouse, down to 18.16 (Debian's): no transactions, no query parameters, no CTEs, no insert
// dedup tokens. A table keeps one row per key, per loader and per sync (tagged with the loader id and
// the last batch it covers) in a ReplacingMergeTree ordered by loader + key + batch, so a repeated
// insert of the same sync replaces rather than adds, and loaders whose batch numbers coincide never
// replace each other's rows; reads sum the syncs (and the loaders) with FINAL, exact before and
// after background merges.

import { DERIVED_SCALE } from '../../reports/model.js';
import { columnDefs, type Dialect, metricSelect } from '../sql/dialect.js';
import type { ColumnRole, SinkTable } from '../sql/table.js';
import { viewName } from '../sql/table.js';

const TYPES: Record<ColumnRole, string> = {
  date: 'Date',
  dimension: 'String',
  count: 'Int64',
  money: 'Decimal(18,6)',
};

export const BATCH_COLUMN = 'adpipe_batch_id';
/** The loader whose share a row is (src/warehouse/loader-id.ts). */
export const LOADER_COLUMN = 'adpipe_loader';

const ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  "'": "\\'",
  '\0': '\\0',
  '\b': '\\b',
  '\f': '\\f',
  '\t': '\\t',
  '\n': '\\n',
  '\r': '\\r',
};

export const clickhouse: Dialect = {
  name: 'clickhouse',
  ident: (name) => `\`${name.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``,
  literal: (value) => `'${value.replace(/[\\'\0\b\f\t\n\r]/g, (c) => ESCAPES[c]!)}'`,
  type: (role) => TYPES[role],
  asText: (expr) => `toString(${expr})`,
  createTable(t) {
    // The loader first: its share is a range of the index, for its watermark, verify and rebuild.
    const order = [LOADER_COLUMN, ...t.keys.map((c) => clickhouse.ident(c.name)), BATCH_COLUMN].join(', ');
    // No PARTITION BY: one insert is one block is one part, so it lands whole or not at all.
    return [
      `CREATE TABLE IF NOT EXISTS ${clickhouse.ident(t.name)} (
  ${[...columnDefs(clickhouse, t, ''), `${BATCH_COLUMN} Int64`, `${LOADER_COLUMN} String`].join(',\n  ')}
) ENGINE = ReplacingMergeTree() ORDER BY (${order})`,
    ];
  },
  createView(t) {
    const ratio = (num: string, den: string, scale: number) =>
      `round(toFloat64(${num}) * ${scale} / toFloat64(${den}), ${DERIVED_SCALE})`;
    const keys = t.keys.map((c) => clickhouse.ident(c.name));
    const measures = t.measures.map((c) => clickhouse.ident(c.name));
    const view = clickhouse.ident(viewName(t));
    return [
      `DROP TABLE IF EXISTS ${view}`,
      `CREATE VIEW ${view} AS SELECT ${[...keys, ...measures, ...t.metrics.map((m) => metricSelect(clickhouse, m, ratio))].join(', ')}
FROM (${summedSql(t)})`,
    ];
  },
  createWatermark: (table) => `CREATE TABLE IF NOT EXISTS ${clickhouse.ident(table)} (
  table_name String,
  loader String,
  batch_id Int64,
  updated_at DateTime
) ENGINE = ReplacingMergeTree(batch_id) ORDER BY (table_name, loader)`,
  createModelTable: (table) => `CREATE TABLE IF NOT EXISTS ${clickhouse.ident(table)} (
  table_name String,
  fingerprint String,
  updated_at DateTime
) ENGINE = ReplacingMergeTree(updated_at) ORDER BY table_name`,
  dropTable: (t) => [
    `DROP TABLE IF EXISTS ${clickhouse.ident(viewName(t))}`,
    `DROP TABLE IF EXISTS ${clickhouse.ident(t.name)}`,
  ],
};

/**
 * The table as the report: every sync's rows summed per key (FINAL collapses repeated inserts), of
 * every loader (the global report) or of one (its share, what `adpipe sink verify` compares).
 */
export function summedSql(t: SinkTable, loader?: string): string {
  const keys = t.keys.map((c) => clickhouse.ident(c.name));
  const sums = t.measures.map((c) => `sum(${clickhouse.ident(c.name)}) AS ${clickhouse.ident(c.name)}`);
  const share = loader === undefined ? '' : ` WHERE ${LOADER_COLUMN} = ${clickhouse.literal(loader)}`;
  return `SELECT ${[...keys, ...sums].join(', ')} FROM ${clickhouse.ident(t.name)} FINAL${share} GROUP BY ${keys.join(', ')}`;
}
