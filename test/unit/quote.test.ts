import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { globLiteral, sqlIdent, sqlString } from '../../src/warehouse/quote.js';
import { makeTempDir } from '../helpers/tmp.js';

const HOSTILE = [
  "it's",
  'say "hi"',
  "'; DROP TABLE t; --",
  '"); --',
  'back\\slash',
  'line\nbreak',
  'ünï €',
  '',
];

describe('DuckDB quoting', () => {
  let db: DuckDBInstance;
  let conn: DuckDBConnection;
  beforeAll(async () => {
    db = await DuckDBInstance.create(':memory:');
    conn = await db.connect();
  });
  afterAll(() => {
    conn.closeSync();
    db.closeSync();
  });
  const one = async (sql: string) => (await conn.runAndReadAll(sql)).getRowsJS()[0]?.[0];

  it.each(HOSTILE)('a string literal reads back as itself: %j', async (s) => {
    expect(await one(`SELECT ${sqlString(s)}`)).toBe(s);
  });

  it.each(HOSTILE.filter((s) => s !== ''))('an identifier names exactly itself: %j', async (s) => {
    await conn.run(`CREATE OR REPLACE TABLE ${sqlIdent(s)} (${sqlIdent(s)} INTEGER)`);
    await conn.run(`INSERT INTO ${sqlIdent(s)} VALUES (7)`);
    expect(await one(`SELECT ${sqlIdent(s)} FROM ${sqlIdent(s)}`)).toBe(7);
    expect(
      await one(`SELECT count(*)::INTEGER FROM duckdb_tables() WHERE table_name = ${sqlString(s)}`),
    ).toBe(1);
    await conn.run(`DROP TABLE ${sqlIdent(s)}`);
  });

  it('a glob literal matches only its own path', async () => {
    const dir = path.join(makeTempDir('quote-glob'), 'a*b[1]?');
    mkdirSync(dir, { recursive: true });
    for (const name of ['x.txt', 'y.txt']) writeFileSync(path.join(dir, name), name);
    const own = path.join(dir, 'x.txt');
    expect(await one(`SELECT count(*)::INTEGER FROM read_text(${sqlString(globLiteral(own))})`)).toBe(1);
    expect(await one(`SELECT content FROM read_text(${sqlString(globLiteral(own))})`)).toBe('x.txt');
  });
});
