// Read-only SQL for power users (POST /v1/query, `adpipe query`), run in a child process (see
// query-sandbox.ts). DuckDB's own parser decides what a statement is: exactly one, of type SELECT
// (WITH … SELECT included). For the API, sql-guard.ts then decides what the parsed tree may read.

import { type DuckDBConnection, StatementType } from '@duckdb/node-api';
import { AdpipeError } from '../errors.js';
import { REPORTS, rollupTable } from '../reports/model.js';
import type { Row } from '../warehouse/warehouse.js';
import { checkSelectTree } from './sql-guard.js';

export const READABLE_TABLES = [
  'lake',
  ...REPORTS.map(rollupTable),
  'dim_org',
  'dim_media',
  'media_shares',
  'dim_inventory',
  'dim_demand',
  'dim_campaign',
  'batches',
  'ledger',
  'lake_files',
];

export interface SqlOptions {
  timeoutMs: number;
  maxRows: number;
  /** Restrict tables to READABLE_TABLES (the API); the CLI's user already has the files. */
  restrictTables: boolean;
}

export interface SqlResult {
  columns: string[];
  rows: Row[];
  truncated: boolean;
}

const READABLE = new Set(READABLE_TABLES);

/**
 * Parses `sql` and checks what it may read (sql-guard.ts); returns the readable tables it names.
 * Parsing binds nothing, so any DuckDB connection can do it.
 */
export async function readableTablesOf(conn: DuckDBConnection, sql: string): Promise<Set<string>> {
  const reader = await conn.runAndReadAll('SELECT json_serialize_sql($sql::VARCHAR) AS tree', { sql });
  const tree = JSON.parse((reader.getRowObjectsJson()[0] as { tree: string }).tree) as {
    error: boolean;
    error_type?: string;
    error_message?: string;
    statements: unknown;
  };
  // Only SELECT statements serialise: anything else is refused here, before it is even bound.
  if (tree.error && tree.error_type === 'not implemented') throw new AdpipeError('ADP_ERR_QUERY_READ_ONLY');
  if (tree.error) throw new AdpipeError('ADP_ERR_QUERY_FAILED', [tree.error_message ?? 'cannot parse']);
  return checkSelectTree(tree.statements, READABLE);
}

/** Runs one read-only statement on `conn`; whoever holds the connection interrupts it at the time limit. */
export async function runReadOnlySql(
  conn: DuckDBConnection,
  sql: string,
  opts: Omit<SqlOptions, 'timeoutMs'>,
): Promise<SqlResult> {
  let statementType: StatementType;
  try {
    const extracted = await conn.extractStatements(sql);
    if (extracted.count !== 1) throw new AdpipeError('ADP_ERR_QUERY_READ_ONLY');
    if (opts.restrictTables) await readableTablesOf(conn, sql);
    statementType = (await extracted.prepare(0)).statementType;
  } catch (err) {
    if (err instanceof AdpipeError) throw err;
    throw queryError(err);
  }
  if (statementType !== StatementType.SELECT) throw new AdpipeError('ADP_ERR_QUERY_READ_ONLY');
  try {
    const reader = await conn.runAndReadUntil(sql, opts.maxRows + 1);
    const rows = reader.getRowObjectsJson() as Row[];
    return {
      columns: reader.columnNames(),
      rows: rows.slice(0, opts.maxRows),
      truncated: rows.length > opts.maxRows,
    };
  } catch (err) {
    throw queryError(err);
  }
}

function queryError(err: unknown): AdpipeError {
  const message = (err as Error).message;
  if (/^INTERRUPT/i.test(message)) return new AdpipeError('ADP_ERR_QUERY_TIMEOUT', ['?'], { cause: err });
  if (/^Out of Memory/i.test(message)) return new AdpipeError('ADP_ERR_QUERY_MEMORY', ['?'], { cause: err });
  return new AdpipeError('ADP_ERR_QUERY_FAILED', [message], { cause: err });
}
