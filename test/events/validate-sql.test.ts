// The same contract cases through the SQL validator (the bulk ingest path), all in one DuckDB query,
// checked against the table and against the JS validator: the two must agree exactly.

import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validatedEventsSql, validatedLinesSql } from '../../src/events/validate-sql.js';
import {
  CONTRACT_CASES,
  canonicalJson,
  EVENT_COLUMNS,
  expectedOutcome,
  jsOutcome,
} from './contract-cases.js';

const q = (s: string) => `'${s.replace(/'/g, "''")}'`;
const MONEY = new Set(['revenue', 'cost', 'bid_price']);

let instance: DuckDBInstance;
let conn: DuckDBConnection;
type Outcome = Record<string, string | null>;
const outcomes = new Map<number, Outcome>();
/** The same cases through the one-pass path for plain lines, as ingest runs it. */
const lineOutcomes = new Map<number, Outcome>();
let plainLines = 0;

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
  conn = await instance.connect();
  // Not UTC on purpose: the validator must not depend on the session's time zone.
  await conn.run("SET TimeZone='Asia/Tokyo'");
  await conn.run('CREATE TABLE raw(file_seq INT, source VARCHAR, line BIGINT, text VARCHAR)');
  const rows = CONTRACT_CASES.map((c, i) => `(1, 'cases', ${i + 1}, ${q(c.text)})`);
  await conn.run(`INSERT INTO raw VALUES ${rows.join(',\n')}`);
  const cols = EVENT_COLUMNS.map((c) => {
    if (c === 'ts') return `strftime(timezone('UTC', ts), '%Y-%m-%dT%H:%M:%S.%gZ') AS ts`;
    if (MONEY.has(c)) return `${c}::VARCHAR AS ${c}`;
    return c;
  });
  const read = async (sql: string, into: Map<number, Outcome>) => {
    const reader = await conn.runAndReadAll(
      `SELECT line, reject, ${cols.join(', ')} FROM (${sql}) ORDER BY line`,
    );
    for (const row of reader.getRowObjectsJS()) into.set(Number(row.line), outcomeOf(row));
  };
  await read(validatedEventsSql('raw'), outcomes);
  await conn.run(`CREATE TABLE lines AS ${validatedLinesSql('(SELECT file_seq, line, text FROM raw)')}`);
  await read('SELECT * FROM lines WHERE NOT general', lineOutcomes);
  plainLines = lineOutcomes.size;
  await read(
    validatedEventsSql(
      '(SELECT file_seq, source, line, text FROM raw WHERE line IN (SELECT line FROM lines WHERE general))',
    ),
    lineOutcomes,
  );
});

function outcomeOf(row: Record<string, unknown>): Outcome {
  if (row.reject !== null) return { reject: String(row.reject) };
  const out: Outcome = {};
  for (const c of EVENT_COLUMNS) out[c] = row[c] === null ? null : String(row[c]);
  out.props = canonicalJson(out.props ?? null);
  return out;
}

afterAll(() => {
  conn?.closeSync();
  instance?.closeSync();
});

describe('SQL validator on the contract cases', () => {
  it('returns one row per input line', () => {
    expect(outcomes.size).toBe(CONTRACT_CASES.length);
  });

  it.each(CONTRACT_CASES.map((c, i) => [c.name, c, i + 1] as const))('%s', (_name, c, line) => {
    const sql = outcomes.get(line);
    expect(sql).toEqual(expectedOutcome(c));
    expect(sql).toEqual(jsOutcome(c.text));
  });
});

describe('one-pass validation of plain lines (validatedLinesSql) on the contract cases', () => {
  it('takes the plain path for a good share of them and leaves the rest to the general validator', () => {
    expect(lineOutcomes.size).toBe(CONTRACT_CASES.length);
    expect(plainLines).toBeGreaterThan(50);
    expect(plainLines).toBeLessThan(CONTRACT_CASES.length);
  });

  it.each(CONTRACT_CASES.map((c, i) => [c.name, c, i + 1] as const))('%s', (_name, c, line) => {
    expect(lineOutcomes.get(line)).toEqual(expectedOutcome(c));
  });
});
