// acceptedLinesSql reads the collector's spool lines without testing the rules again. On every line
// the collector would spool (here: its own output for the contract cases and 3 000 generated lines),
// it must give exactly what the full validator gives, and reject nothing.

import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptedLinesSql, validatedEventsSql, validatedLinesSql } from '../../src/events/validate-sql.js';
import { validateNdjson } from '../../src/server/collector/batch.js';
import { CONTRACT_CASES, EVENT_COLUMNS } from './contract-cases.js';
import { generatedLines } from './generated-lines.js';

const q = (s: string) => `'${s.replace(/'/g, "''")}'`;

let instance: DuckDBInstance;
let conn: DuckDBConnection;
let spoolLines: string[] = [];

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
  conn = await instance.connect();
  await conn.run("SET TimeZone='Asia/Tokyo'");
  const body = Buffer.from([...CONTRACT_CASES.map((c) => c.text), ...generatedLines(3000)].join('\n'));
  const batch = validateNdjson(body, 1e9, 'events', '2026-01-01T00:00:00.000Z');
  if ('tooMany' in batch) throw new Error('refused');
  spoolLines = Buffer.from(batch.spool).toString('utf8').split('\n').slice(0, -1);
  const rows = spoolLines.map((l, i) => `(1, 'spool', ${i + 1}, ${q(l)})`);
  await conn.run('CREATE TABLE raw(file_seq INT, source VARCHAR, line BIGINT, text VARCHAR)');
  await conn.run(`INSERT INTO raw VALUES ${rows.join(',\n')}`);
});

afterAll(() => {
  conn?.closeSync();
  instance?.closeSync();
});

/** Staged as ingest stages it: `linesSql` for the plain lines, the full validator for the general ones. */
async function staged(linesSql: (lines: string) => string) {
  await conn.run(`CREATE OR REPLACE TABLE staged AS ${linesSql('(SELECT file_seq, line, text FROM raw)')}`);
  const cols = ['line', 'reject', ...EVENT_COLUMNS.map((c) => (c === 'ts' ? 'epoch_ms(ts) AS ts' : c))];
  const general = `(SELECT file_seq, source, line, text FROM raw WHERE line IN (SELECT line FROM staged WHERE general))`;
  const reader = await conn.runAndReadAll(
    `SELECT ${cols.join(', ')} FROM staged WHERE NOT general
     UNION ALL SELECT ${cols.join(', ')} FROM (${validatedEventsSql(general)}) ORDER BY line`,
  );
  const plain = await conn.runAndReadAll('SELECT count(*) FILTER (NOT general) FROM staged');
  return { rows: reader.getRowObjectsJS(), plain: Number(plain.getRows()[0]![0]) };
}

describe('acceptedLinesSql', () => {
  it('gives what the full validator gives on every line the collector spools', async () => {
    const full = await staged(validatedLinesSql);
    const accepted = await staged(acceptedLinesSql);
    expect(accepted.rows).toHaveLength(spoolLines.length);
    expect(accepted.rows).toEqual(full.rows);
    expect(accepted.rows.every((r) => r.reject === null)).toBe(true);
    // Most spool lines take the one-pass path; props and escapes send some to the full rules.
    expect(accepted.plain).toBeGreaterThan(spoolLines.length / 2);
    expect(accepted.plain).toBeLessThan(spoolLines.length);
  });
});
