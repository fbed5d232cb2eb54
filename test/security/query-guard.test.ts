// The parse-tree check of POST /v1/query on its own, without the sandbox behind it: random nests of
// WITH, subqueries, set operations, joins and IN-subqueries, whose relations and CTE names mix the
// readable tables, seen_ids and a secret file's path. Whatever the check lets through, DuckDB
// (here with file access on) must then not read the secret.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AdpipeError } from '../../src/errors.js';
import { checkSelectTree } from '../../src/query/sql-guard.js';
import { makeTempDir } from '../helpers/tmp.js';

const SECRET = 'TOP-SECRET-guard';
const READABLE = new Set(['lake', 'rollup_ad']);

let instance: DuckDBInstance;
let conn: DuckDBConnection;
let secretFile: string;

beforeAll(async () => {
  secretFile = path.join(makeTempDir('sec-query-guard'), 'secret.csv');
  writeFileSync(secretFile, `v\n${SECRET}\n`);
  instance = await DuckDBInstance.create(':memory:');
  conn = await instance.connect();
  await conn.run("CREATE TABLE lake AS SELECT 'lake' AS v");
  await conn.run("CREATE TABLE rollup_ad AS SELECT 'rollup' AS v");
  await conn.run(`CREATE TABLE seen_ids AS SELECT '${SECRET}' AS v`);
});
afterAll(() => {
  conn.closeSync();
  instance.closeSync();
});

/** Whether the check lets `sql` through. */
async function allowed(sql: string): Promise<boolean> {
  const reader = await conn.runAndReadAll('SELECT json_serialize_sql($sql::VARCHAR) AS tree', { sql });
  const tree = JSON.parse((reader.getRowObjectsJson()[0] as { tree: string }).tree);
  if (tree.error) return false;
  try {
    checkSelectTree(tree.statements, READABLE);
    return true;
  } catch (err) {
    if (err instanceof AdpipeError && err.code === 'ADP_ERR_QUERY_READ_ONLY_TABLES') return false;
    throw err;
  }
}

it('lets no nest of scopes read a file or a table outside the readable ones', async () => {
  const quoted = (name: string) => `"${name.replace(/"/g, '""')}"`;
  // CTEs are named after the secret as often as after harmless names, and references mostly name
  // something a CTE or table could make readable, so that enough queries pass to be run.
  const cteNames = fc.constantFrom('c1', 'C1', 'c2', 'lake', 'seen_ids', secretFile);
  const refs = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom('lake', 'rollup_ad', 'c1', 'c2').map(quoted) },
    { weight: 3, arbitrary: fc.constantFrom('seen_ids', secretFile).map(quoted) },
    { weight: 1, arbitrary: fc.constant(`'${secretFile}'`) },
  );
  // Every query yields one VARCHAR column v, so any two can be combined.
  const { query } = fc.letrec<{ query: string }>((tie) => ({
    query: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      { weight: 3, arbitrary: refs.map((r) => `SELECT v FROM ${r} AS t`) },
      fc
        .tuple(cteNames, tie('query'), fc.option(fc.tuple(cteNames, tie('query'))), tie('query'))
        .map(([n1, q1, second, body]) => {
          const ctes = [`${quoted(n1)} AS (${q1})`];
          if (second) ctes.push(`${quoted(second[0])} AS (${second[1]})`);
          return `WITH ${ctes.join(', ')} ${body}`;
        }),
      fc
        .tuple(cteNames, tie('query'), tie('query'))
        .map(
          ([n, anchor, step]) =>
            `WITH RECURSIVE ${quoted(n)}(v) AS (${anchor} UNION SELECT v FROM (${step}) AS s) SELECT v FROM ${quoted(n)}`,
        ),
      fc.tuple(tie('query'), tie('query')).map(([a, b]) => `(${a}) UNION ALL (${b})`),
      fc.tuple(tie('query'), tie('query')).map(([a, b]) => `SELECT a.v FROM (${a}) AS a, (${b}) AS b`),
      fc
        .tuple(tie('query'), refs)
        .map(([a, r]) => `SELECT a.v FROM (${a}) AS a, LATERAL (SELECT v FROM ${r} AS b) AS l`),
      fc
        .tuple(tie('query'), tie('query'))
        .map(
          ([a, b]) => `SELECT v FROM (${a}) AS a WHERE v IN (${b}) OR v = (SELECT max(v) FROM (${b}) AS m)`,
        ),
    ),
  }));
  let accepted = 0;
  await fc.assert(
    fc.asyncProperty(query, async (sql) => {
      if (!(await allowed(sql))) return;
      accepted++;
      let text = '';
      try {
        text = JSON.stringify((await conn.runAndReadAll(sql)).getRowObjectsJson());
      } catch (err) {
        // DuckDB refused it on its own (a binder error); its message must not carry the secret either.
        text = (err as Error).message;
      }
      expect(text, sql).not.toContain(SECRET);
    }),
    { numRuns: 400, seed: 23 },
  );
  // The generator is not so hostile that nothing passes: the property says something.
  expect(accepted).toBeGreaterThan(20);
});
