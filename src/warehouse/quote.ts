// DuckDB's quoting, the one home for it: every name or value put into DuckDB SQL text goes through
// these (a value that can be a bound parameter should be one instead). The SQL sinks' dialects
// quote for their own databases in src/sql/dialects/.

/** A string as a SQL literal: single quotes, a quote inside doubled. */
export function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** An identifier: double quotes, a quote inside doubled. */
export function sqlIdent(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

/**
 * A path as a DuckDB glob that matches only itself: `*`, `?` and `[` are glob characters there
 * (a data dir may hold them), each is put in a bracket class of its own.
 */
export function globLiteral(p: string): string {
  return p.replace(/[*?[]/g, (c) => `[${c}]`);
}
