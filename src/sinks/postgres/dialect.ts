// PostgreSQL: deltas are COPied into a temporary table and added with one `MERGE` (PostgreSQL 15+;
// `INSERT … SELECT … ON CONFLICT (key) DO UPDATE SET c = t.c + EXCLUDED.c` before).

import { AdpipeError } from '../../errors.js';
import { DERIVED_SCALE } from '../../reports/model.js';
import { columnDefs, type MergeDialect, metricSelect, type ServerInfo } from '../sql/dialect.js';
import type { ColumnRole, SinkTable } from '../sql/table.js';
import { viewName } from '../sql/table.js';

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
  createModelTable: (table) => `CREATE TABLE IF NOT EXISTS ${postgres.ident(table)} (
  table_name TEXT PRIMARY KEY,
  fingerprint TEXT NOT NULL
)`,
  dropTable: (t) => [
    `DROP VIEW IF EXISTS ${postgres.ident(viewName(t))}`,
    `DROP TABLE IF EXISTS ${postgres.ident(t.name)}`,
  ],
  createStaging: (t, staging) => [
    `CREATE TEMP TABLE ${postgres.ident(staging)} (${columnDefs(postgres, t).join(', ')}) ON COMMIT DROP`,
  ],
  mergeFromStaging: (t, staging, server) => [
    // Transaction-local: the join's hash table stays in memory, and JIT compiling the statement
    // costs more than it saves on a plain scan-and-modify.
    "SET LOCAL work_mem = '256MB'",
    'SET LOCAL jit = off',
    ...(mergeSupported(server) ? mergeStatements(t, staging) : [onConflictUpsert(t, staging)]),
  ],
  seedWatermark: (watermarks, table) =>
    `INSERT INTO ${postgres.ident(watermarks)} (table_name, batch_id) VALUES (${postgres.literal(table)}, 0) ON CONFLICT DO NOTHING`,
};

const mergeSupported = (server?: ServerInfo) => server?.product === 'postgres' && server.major >= 15;

/**
 * `MERGE` joins the staged rows with the table once (a hash join, or index probes for a small delta
 * into a big table: the planner chooses, so the staging table is analyzed first — autovacuum never
 * analyzes temporary tables) instead of a speculative insertion per row: about half the server CPU
 * of ON CONFLICT onto new keys and less on existing ones. The keys are distinct (the delta is
 * grouped by them) and the watermark row lock keeps other syncers out; a concurrent foreign insert
 * of the same key fails the transaction (unique violation), which rolls back and is retried.
 */
function mergeStatements(t: SinkTable, staging: string): string[] {
  const src = 's';
  const cols = [...t.keys, ...t.measures].map((c) => postgres.ident(c.name));
  const on = t.keys.map((c) => `${TARGET}.${postgres.ident(c.name)} = ${src}.${postgres.ident(c.name)}`);
  const add = t.measures.map((c) => {
    const col = postgres.ident(c.name);
    return `${col} = ${TARGET}.${col} + ${src}.${col}`;
  });
  return [
    `ANALYZE ${postgres.ident(staging)}`,
    `MERGE INTO ${postgres.ident(t.name)} AS ${TARGET} USING ${postgres.ident(staging)} AS ${src} ON ${on.join(' AND ')}
WHEN MATCHED THEN UPDATE SET ${add.join(', ')}
WHEN NOT MATCHED THEN INSERT (${cols.join(', ')}) VALUES (${cols.map((c) => `${src}.${c}`).join(', ')})`,
  ];
}

function onConflictUpsert(t: SinkTable, staging: string): string {
  const cols = [...t.keys, ...t.measures].map((c) => postgres.ident(c.name)).join(', ');
  const keys = t.keys.map((c) => postgres.ident(c.name)).join(', ');
  const add = t.measures.map((c) => {
    const col = postgres.ident(c.name);
    return `${col} = ${TARGET}.${col} + EXCLUDED.${col}`;
  });
  return `INSERT INTO ${postgres.ident(t.name)} AS ${TARGET} (${cols}) SELECT ${cols} FROM ${postgres.ident(staging)}
ON CONFLICT (${keys}) DO UPDATE SET ${add.join(', ')}`;
}

/** COPY matching the CSV DuckDB writes: an unquoted empty field is NULL, "" is the empty string. */
export function copyCsvSql(table: string, columns: readonly string[]): string {
  return `COPY ${postgres.ident(table)} (${columns.map(postgres.ident).join(', ')}) FROM STDIN WITH (FORMAT csv)`;
}
