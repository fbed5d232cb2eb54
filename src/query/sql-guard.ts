// What an API query may read, decided on DuckDB's own parse tree (json_serialize_sql). Node types
// are allow-listed: anything the parser emits that is not listed here (SHOW, PIVOT statements, new
// syntax) is refused. A table name is allowed when it is readable or names a CTE visible where it
// is used: CTEs of an enclosing WITH, earlier siblings in the same WITH, and a recursive CTE in its
// own recursive part, as DuckDB's binder resolves them. Anything else would be a catalog table, a
// file path or a replacement scan. The sandbox the query then runs in is the second line of defence.

import { AdpipeError } from '../errors.js';

type Node = Record<string, unknown>;

const QUERY_NODES = new Set(['SELECT_NODE', 'SET_OPERATION_NODE', 'RECURSIVE_CTE_NODE']);
/** FROM items that read nothing by themselves; BASE_TABLE is checked, TABLE_FUNCTION refused. */
const TABLE_REFS = new Set(['JOIN', 'SUBQUERY', 'EMPTY', 'EXPRESSION_LIST', 'PIVOT']);
const MODIFIERS = new Set([
  'ORDER_MODIFIER',
  'LIMIT_MODIFIER',
  'LIMIT_PERCENT_MODIFIER',
  'DISTINCT_MODIFIER',
  'ORDER_DEFAULT',
  'ASCENDING',
  'DESCENDING',
]);
const EXPRESSIONS = new Set([
  'BETWEEN',
  'CASE',
  'CAST',
  'COLLATE',
  'COLUMN_REF',
  'COMPARISON',
  'CONJUNCTION',
  'CONSTANT',
  'FUNCTION',
  'LAMBDA',
  'OPERATOR',
  'PARAMETER',
  'POSITIONAL_REFERENCE',
  'STAR',
  'SUBQUERY',
  'WINDOW',
]);
/** Functions that read files, settings, the environment or the catalog, or run SQL from a string. */
const DENIED_FUNCTION = /^(duckdb_|pragma_|read_|parquet_|sniff_|json_execute_|iceberg_|delta_)/;
const DENIED_FUNCTIONS = new Set([
  'getenv',
  'current_setting',
  'getvariable',
  'query',
  'query_table',
  'glob',
  'nextval',
  'currval',
  'setseed',
  'current_query',
  'sql_auto_complete',
  'which_secret',
  'checkpoint',
  'force_checkpoint',
]);

/** DuckDB folds identifiers in ASCII only; folding more here could match what DuckDB does not. */
const fold = (name: string) => name.replace(/[A-Z]/g, (c) => c.toLowerCase());

const refuse = (what: string) => new AdpipeError('ADP_ERR_QUERY_READ_ONLY_TABLES', [what]);

/**
 * Throws unless every relation and function of the parsed SELECT statements is allowed; returns the
 * readable tables they name (with any a CTE of the same name shadows: never fewer than are read).
 */
export function checkSelectTree(statements: unknown, readable: ReadonlySet<string>): Set<string> {
  const folded = new Set([...readable].map(fold));
  walk(statements, folded);
  const named = new Set<string>();
  const collect = (value: unknown): void => {
    if (!value || typeof value !== 'object') return;
    const node = value as Node;
    if (node.type === 'BASE_TABLE' && folded.has(fold(String(node.table_name))))
      named.add(fold(String(node.table_name)));
    for (const v of Array.isArray(value) ? value : Object.values(node)) collect(v);
  };
  collect(statements);
  return named;
}

function walk(value: unknown, visible: ReadonlySet<string>): void {
  if (Array.isArray(value)) {
    for (const v of value) walk(v, visible);
    return;
  }
  if (!value || typeof value !== 'object') return;
  const node = value as Node;
  if (typeof node.class === 'string') expression(node, visible);
  else if (typeof node.type === 'string') typed(node, node.type, visible);
  else children(node, visible);
}

function typed(node: Node, type: string, visible: ReadonlySet<string>): void {
  if (QUERY_NODES.has(type)) queryNode(node, visible);
  else if (type === 'BASE_TABLE') baseTable(node, visible);
  else if (type === 'TABLE_FUNCTION') throw refuse(`table function ${functionName(node.function)}`);
  // Type descriptions (casts, constants) are walked too, in case one ever holds an expression.
  else if (TABLE_REFS.has(type) || MODIFIERS.has(type) || type.endsWith('_TYPE_INFO'))
    children(node, visible);
  else throw refuse(`syntax ${type}`);
}

function children(node: Node, visible: ReadonlySet<string>, skip?: string): void {
  for (const [key, v] of Object.entries(node)) if (key !== skip) walk(v, visible);
}

function expression(node: Node, visible: ReadonlySet<string>): void {
  const cls = node.class as string;
  if (!EXPRESSIONS.has(cls)) throw refuse(`expression ${cls}`);
  if (cls === 'CONSTANT') return;
  if (cls === 'FUNCTION' || cls === 'WINDOW') checkFunction(node);
  children(node, visible);
}

function checkFunction(node: Node): void {
  const name = fold(String(node.function_name ?? ''));
  // AT TIME ZONE arrives as main.timezone; any other schema or catalog is another namespace.
  if ((node.schema && node.schema !== 'main') || node.catalog) throw refuse(`function ${name}`);
  if (DENIED_FUNCTION.test(name) || DENIED_FUNCTIONS.has(name)) throw refuse(`function ${name}`);
}

function functionName(fn: unknown): string {
  return fold(String((fn as Node | undefined)?.function_name ?? '?'));
}

function baseTable(node: Node, visible: ReadonlySet<string>): void {
  const name = String(node.table_name);
  if (node.schema_name || node.catalog_name) throw refuse(`table ${JSON.stringify(name)} of another schema`);
  if (node.at_clause) throw refuse(`table ${JSON.stringify(name)} AT a version`);
  if (!visible.has(fold(name))) throw refuse(`table ${JSON.stringify(name)}`);
  children(node, visible);
}

function queryNode(node: Node, outer: ReadonlySet<string>): void {
  const ctes = (node.cte_map as { map?: Array<{ key: string; value: unknown }> } | undefined)?.map ?? [];
  // Each CTE sees the ones before it; the body sees them all.
  const visible = new Set(outer);
  for (const cte of ctes) {
    walk(cte.value, visible);
    visible.add(fold(cte.key));
  }
  if (node.type === 'RECURSIVE_CTE_NODE') {
    walk(node.left, visible);
    walk(node.right, new Set([...visible, fold(String(node.cte_name))]));
    for (const [key, v] of Object.entries(node))
      if (key !== 'cte_map' && key !== 'left' && key !== 'right') walk(v, visible);
    return;
  }
  children(node, visible, 'cte_map');
}
