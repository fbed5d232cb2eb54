// Read-only SQL for power users (POST /v1/query, `adpipe query`). DuckDB's own parser decides what a
// statement is: exactly one, of type SELECT (WITH … SELECT included). For the API, the parsed tree
// may only read the lake view, rollups, metadata and pipeline tables: no table functions (read_csv,
// read_text, glob …) and no file paths, so a query cannot reach the server's files.

import { StatementType } from '@duckdb/node-api';
import { AdpipeError } from '../../errors.js';
import { lakeRelation } from '../../lake/lake.js';
import { REPORTS, rollupTable } from '../../reports/model.js';
import type { Row, Warehouse } from '../../warehouse/warehouse.js';

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

interface Node {
  [k: string]: unknown;
}

/** Table references in a json_serialize_sql tree: what each FROM reads, and the CTE names. */
function tableRefs(node: unknown, out: { tables: string[]; functions: string[]; ctes: string[] }) {
  if (Array.isArray(node)) {
    for (const n of node) tableRefs(n, out);
    return out;
  }
  if (!node || typeof node !== 'object') return out;
  const n = node as Node;
  if (n.type === 'BASE_TABLE') {
    out.tables.push([n.catalog_name, n.schema_name, n.table_name].filter(Boolean).join('.'));
  }
  if (n.type === 'TABLE_FUNCTION') out.functions.push(String((n.function as Node)?.function_name));
  const cteMap = (n.cte_map as { map?: Array<{ key: string }> } | undefined)?.map;
  if (cteMap) out.ctes.push(...cteMap.map((c) => c.key));
  for (const v of Object.values(n)) tableRefs(v, out);
  return out;
}

async function checkTables(wh: Warehouse, sql: string): Promise<void> {
  const row = await wh.one<{ tree: string }>('SELECT json_serialize_sql($sql::VARCHAR) AS tree', { sql });
  const tree = JSON.parse(row!.tree) as {
    error: boolean;
    error_type?: string;
    error_message?: string;
    statements: unknown;
  };
  // Only SELECT statements serialise: anything else is refused here, before it is even bound.
  if (tree.error && tree.error_type === 'not implemented') throw new AdpipeError('ADP_ERR_READ_ONLY');
  if (tree.error) throw new AdpipeError('ADP_ERR_QUERY', [tree.error_message ?? 'cannot parse']);
  const refs = tableRefs(tree.statements, { tables: [], functions: [], ctes: [] });
  if (refs.functions.length)
    throw new AdpipeError('ADP_ERR_READ_ONLY_TABLES', [`table function ${refs.functions[0]}`]);
  const allowed = new Set([...READABLE_TABLES, ...refs.ctes]);
  const denied = refs.tables.find((t) => !allowed.has(t));
  if (denied !== undefined) throw new AdpipeError('ADP_ERR_READ_ONLY_TABLES', [`table ${denied}`]);
}

/** Runs one read-only statement on a connection of its own; `lake` is a view over the lake. */
export async function runReadOnlySql(wh: Warehouse, sql: string, opts: SqlOptions): Promise<SqlResult> {
  let statementType: StatementType;
  try {
    const extracted = await wh.conn.extractStatements(sql);
    if (extracted.count !== 1) throw new AdpipeError('ADP_ERR_READ_ONLY');
    if (opts.restrictTables) await checkTables(wh, sql);
    await wh.run(`CREATE OR REPLACE TEMP VIEW lake AS SELECT * FROM ${await lakeRelation(wh)}`);
    statementType = (await extracted.prepare(0)).statementType;
  } catch (err) {
    if (err instanceof AdpipeError) throw err;
    throw new AdpipeError('ADP_ERR_QUERY', [(err as Error).message], { cause: err });
  }
  if (statementType !== StatementType.SELECT) throw new AdpipeError('ADP_ERR_READ_ONLY');
  const timer = setTimeout(() => wh.conn.interrupt(), opts.timeoutMs);
  try {
    const reader = await wh.conn.runAndReadUntil(sql, opts.maxRows + 1);
    const rows = reader.getRowObjectsJson() as Row[];
    return {
      columns: reader.columnNames(),
      rows: rows.slice(0, opts.maxRows),
      truncated: rows.length > opts.maxRows,
    };
  } catch (err) {
    const message = (err as Error).message;
    if (/interrupt/i.test(message))
      throw new AdpipeError('ADP_ERR_QUERY_TIMEOUT', [opts.timeoutMs], { cause: err });
    throw new AdpipeError('ADP_ERR_QUERY', [message], { cause: err });
  } finally {
    clearTimeout(timer);
  }
}
