// Quoting is where injection lives: every dialect's literal and identifier quoting must round-trip
// hostile strings through the real server unchanged.

import { createClient } from '@clickhouse/client';
import mysql2 from 'mysql2/promise';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { clickhouse } from '../../src/sinks/clickhouse/dialect.js';
import { mysql } from '../../src/sinks/mysql/dialect.js';
import { postgres } from '../../src/sinks/postgres/dialect.js';
import type { Dialect } from '../../src/sinks/sql/dialect.js';
import { describeWith, testServices } from '../helpers/services.js';

const HOSTILE = [
  '',
  "'",
  "''",
  "\\'",
  '\\',
  'ends with backslash\\',
  "' OR 1=1 --",
  "'); DROP TABLE x; --",
  '/* comment */',
  '"double" `back`',
  'line\nbreak\r\n\ttab',
  '\b\f\x1a\x7f',
  '한국어 🎯 ünïcödé',
  '\\x27 \\u0027 $1 ? :name {x:UInt8}',
];
const WITH_NUL = [...HOSTILE, 'nul\0inside'];

function roundTrips(d: Dialect, values: string[], select: (sql: string) => Promise<string>) {
  it(`${d.name}: literals come back unchanged`, async () => {
    for (const v of values) expect(await select(`SELECT ${d.literal(v)} AS v`)).toBe(v);
  });
  it(`${d.name}: identifiers come back unchanged`, async () => {
    // MariaDB identifiers cannot hold characters outside the BMP: that is not a quoting matter.
    for (const v of HOSTILE.filter((x) => x !== '' && !/[\u{10000}-\u{10ffff}]/u.test(x)))
      expect(await select(`SELECT 'ok' AS ${d.ident(v)}`).then(() => 'ok')).toBe('ok');
  });
}

describe('quoting without a server', () => {
  it('escapes what each dialect needs', () => {
    expect(mysql.literal("a'b\\c")).toBe("'a\\'b\\\\c'");
    expect(postgres.literal("a'b\\c")).toBe("'a''b\\c'");
    expect(clickhouse.literal("a'b\\c\n")).toBe("'a\\'b\\\\c\\n'");
    expect(mysql.ident('a`b')).toBe('`a``b`');
    expect(postgres.ident('a"b')).toBe('"a""b"');
    expect(clickhouse.ident('a`b')).toBe('`a\\`b`');
    expect(() => postgres.literal('\0')).toThrow(/NUL/);
  });
});

(await describeWith('mariadb'))('MariaDB quoting', () => {
  roundTrips(mysql, WITH_NUL, async (sql) => {
    const conn = await mysql2.createConnection({ uri: testServices.mysqlUrl });
    try {
      const [rows] = await conn.query({ sql, rowsAsArray: true });
      return String((rows as unknown[][])[0]![0]);
    } finally {
      await conn.end();
    }
  });
});

(await describeWith('postgres'))('PostgreSQL quoting', () => {
  roundTrips(postgres, HOSTILE, async (sql) => {
    const client = new pg.Client({ connectionString: testServices.pgUrl });
    await client.connect();
    try {
      return String((await client.query<unknown[]>({ text: sql, rowMode: 'array' })).rows[0]![0]);
    } finally {
      await client.end();
    }
  });
});

(await describeWith('clickhouse'))('ClickHouse quoting', () => {
  roundTrips(clickhouse, WITH_NUL, async (sql) => {
    const client = createClient({ url: testServices.clickhouseUrl });
    try {
      const rows = await (await client.query({ query: sql, format: 'JSONEachRow' })).json<
        Record<string, string>
      >();
      return Object.values(rows[0]!)[0]!;
    } finally {
      await client.close();
    }
  });
});
