// MySQL / MariaDB: seed 000's dialect. Deltas are added with
// `INSERT … ON DUPLICATE KEY UPDATE c = c + VALUES(c)`, as the seed did.

import { DERIVED_SCALE } from '../../reports/model.js';
import { columnDefs, type MergeDialect, metricSelect } from '../sql/dialect.js';
import type { ColumnRole } from '../sql/table.js';
import { viewName } from '../sql/table.js';

// utf8mb4 takes up to 4 bytes a character and InnoDB keys at most 3072 bytes: six key columns of
// 128 characters fit.
const KEY_CHARS = 128;

const TYPES: Record<ColumnRole, string> = {
  date: 'DATE',
  dimension: `VARCHAR(${KEY_CHARS})`,
  count: 'BIGINT',
  money: 'DECIMAL(18,6)',
};

const ESCAPES: Record<string, string> = {
  '\0': '\\0',
  '\b': '\\b',
  '\t': '\\t',
  '\n': '\\n',
  '\r': '\\r',
  '\x1a': '\\Z',
  "'": "\\'",
  '"': '\\"',
  '\\': '\\\\',
};

export const mysql: MergeDialect = {
  name: 'mysql',
  ident: (name) => `\`${name.replace(/`/g, '``')}\``,
  // Backslash escapes as in the server's default sql_mode (without NO_BACKSLASH_ESCAPES).
  literal: (value) => `'${value.replace(/[\0\b\t\n\r\x1a'"\\]/g, (c) => ESCAPES[c]!)}'`,
  type: (role) => TYPES[role],
  asText: (expr) => `CAST(${expr} AS CHAR)`,
  createTable(t) {
    const keys = t.keys.map((c) => mysql.ident(c.name)).join(', ');
    return [
      `CREATE TABLE IF NOT EXISTS ${mysql.ident(t.name)} (
  ${[...columnDefs(mysql, t), `PRIMARY KEY (${keys})`].join(',\n  ')}
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    ];
  },
  createView(t) {
    // DECIMAL division keeps only div_precision_increment (4) more digits: widen the numerator first.
    const ratio = (num: string, den: string, scale: number) =>
      `ROUND(CAST(${num} AS DECIMAL(38,12)) * ${scale} / ${den}, ${DERIVED_SCALE})`;
    const metrics = t.metrics.map((m) => metricSelect(mysql, m, ratio));
    return [
      `CREATE OR REPLACE VIEW ${mysql.ident(viewName(t))} AS SELECT ${['t.*', ...metrics].join(', ')} FROM ${mysql.ident(t.name)} t`,
    ];
  },
  createWatermark: (table) => `CREATE TABLE IF NOT EXISTS ${mysql.ident(table)} (
  table_name VARCHAR(191) NOT NULL PRIMARY KEY,
  batch_id BIGINT NOT NULL,
  updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  createModelTable: (table) => `CREATE TABLE IF NOT EXISTS ${mysql.ident(table)} (
  table_name VARCHAR(191) NOT NULL PRIMARY KEY,
  fingerprint VARCHAR(64) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  dropTable: (t) => [
    `DROP VIEW IF EXISTS ${mysql.ident(viewName(t))}`,
    `DROP TABLE IF EXISTS ${mysql.ident(t.name)}`,
  ],
  // MariaDB stages in Aria: the load costs about a third less server CPU than into an InnoDB temporary
  // table, and the staged rows stay out of the buffer pool the upsert needs for the target's pages.
  // The staging table is not transactional, which does not matter: it is recreated by every apply
  // and dies with the session. MySQL has no Aria and keeps its default (InnoDB).
  createStaging: (t, staging, server) => [
    `DROP TEMPORARY TABLE IF EXISTS ${mysql.ident(staging)}`,
    `CREATE TEMPORARY TABLE ${mysql.ident(staging)} (${columnDefs(mysql, t).join(', ')})${server?.product === 'mariadb' ? ' ENGINE=Aria' : ''} DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  ],
  mergeFromStaging(t, staging) {
    const target = mysql.ident(t.name);
    const cols = [...t.keys, ...t.measures].map((c) => mysql.ident(c.name));
    // Qualified: the staging table has the same column names.
    const add = t.measures.map((c) => {
      const col = mysql.ident(c.name);
      return `${target}.${col} = ${target}.${col} + VALUES(${col})`;
    });
    return [
      `INSERT INTO ${target} (${cols.join(', ')}) SELECT ${cols.map((c) => `s.${c}`).join(', ')} FROM ${mysql.ident(staging)} s
ON DUPLICATE KEY UPDATE ${add.join(', ')}`,
    ];
  },
  seedWatermark: (watermarks, table) =>
    `INSERT IGNORE INTO ${mysql.ident(watermarks)} (table_name, batch_id) VALUES (${mysql.literal(table)}, 0)`,
};

/** LOAD DATA options matching the CSV DuckDB writes (RFC 4180: "" inside quotes, no backslash escapes). */
export function loadCsvSql(file: string, table: string, columns: readonly string[]): string {
  return `LOAD DATA LOCAL INFILE ${mysql.literal(file)} INTO TABLE ${mysql.ident(table)} CHARACTER SET utf8mb4
FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '"' ESCAPED BY '' LINES TERMINATED BY '\\n'
(${columns.map(mysql.ident).join(', ')})`;
}
