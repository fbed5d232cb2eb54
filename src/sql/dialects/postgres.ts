// PostgreSQL: deltas are COPied into a temporary table and added with one
// `INSERT … SELECT … ON CONFLICT (key) DO UPDATE SET c = t.c + EXCLUDED.c`.

import { AdpipeError } from '../../errors.js';
import { DERIVED_SCALE } from '../../reports/model.js';
import { columnDefs, type MergeDialect, metricSelect } from '../dialect.js';
import type { ColumnRole } from '../table.js';
import { viewName } from '../table.js';

const TYPES: Record<ColumnRole, string> = {
  date: 'DATE',
  // Byte order: ids need no linguistic collation, and it makes the key index much cheaper.
  dimension: 'TEXT COLLATE "C"',
  count: 'BIGINT',
  money: 'NUMERIC(18,6)',
};

const TARGET = 'tgt';

export const postgres: MergeDialect = {
  name: 'postgres',
  ident: (name) => `"${name.replace(/"/g, '""')}"`,
  // standard_conforming_strings is on (the default since 9.1): only quotes need doubling.
  literal(value) {
    if (value.includes('\0'))
      throw new AdpipeError('ADP_ERR_BAD_PARAM', ['value', 'PostgreSQL text cannot hold NUL']);
    return `'${value.replace(/'/g, "''")}'`;
  },
  type: (role) => TYPES[role],
  asText: (expr) => `(${expr})::text`,
  createTable(t) {
    const keys = t.keys.map((c) => postgres.ident(c.name)).join(', ');
    return [
      `CREATE TABLE IF NOT EXISTS ${postgres.ident(t.name)} (
  ${[...columnDefs(postgres, t), `PRIMARY KEY (${keys})`].join(',\n  ')}
)`,
    ];
  },
  createView(t) {
    const ratio = (num: string, den: string, scale: number) =>
      `ROUND(${num}::numeric * ${scale} / ${den}, ${DERIVED_SCALE})`;
    const metrics = t.metrics.map((m) => metricSelect(postgres, m, ratio));
    const view = postgres.ident(viewName(t));
    return [
      `CREATE OR REPLACE VIEW ${view} AS SELECT ${['t.*', ...metrics].join(', ')} FROM ${postgres.ident(t.name)} t`,
    ];
  },
  createWatermark: (table) => `CREATE TABLE IF NOT EXISTS ${postgres.ident(table)} (
  table_name TEXT PRIMARY KEY,
  batch_id BIGINT NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
)`,
  createStaging: (t, staging) => [
    `CREATE TEMP TABLE ${postgres.ident(staging)} (${columnDefs(postgres, t).join(', ')}) ON COMMIT DROP`,
  ],
  mergeFromStaging(t, staging) {
    const cols = [...t.keys, ...t.measures].map((c) => postgres.ident(c.name)).join(', ');
    const keys = t.keys.map((c) => postgres.ident(c.name)).join(', ');
    const add = t.measures.map((c) => {
      const col = postgres.ident(c.name);
      return `${col} = ${TARGET}.${col} + EXCLUDED.${col}`;
    });
    return `INSERT INTO ${postgres.ident(t.name)} AS ${TARGET} (${cols}) SELECT ${cols} FROM ${postgres.ident(staging)}
ON CONFLICT (${keys}) DO UPDATE SET ${add.join(', ')}`;
  },
  seedWatermark: (watermarks, table) =>
    `INSERT INTO ${postgres.ident(watermarks)} (table_name, batch_id) VALUES (${postgres.literal(table)}, 0) ON CONFLICT DO NOTHING`,
};

/** COPY matching the CSV DuckDB writes: an unquoted empty field is NULL, "" is the empty string. */
export function copyCsvSql(table: string, columns: readonly string[]): string {
  return `COPY ${postgres.ident(table)} (${columns.map(postgres.ident).join(', ')}) FROM STDIN WITH (FORMAT csv)`;
}
