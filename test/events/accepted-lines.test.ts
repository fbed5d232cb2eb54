// acceptedLinesSql reads the collector's spool lines without testing the rules again. For every
// record the collector keeps (each contract case and 3 000 generated lines, each sent as a batch of
// its own: in one batch, the cases sharing an event_id would be dropped as repeats and never
// checked), its spool line, staged as ingest stages spool segments, must land exactly as the full
// validator lands the record itself.

import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptedLinesSql, validatedEventsSql } from '../../src/events/validate-sql.js';
import { validateNdjson } from '../../src/sources/spool/batch.js';
import { CONTRACT_CASES, canonicalJson, EVENT_COLUMNS } from './contract-cases.js';
import { generatedLines } from './generated-lines.js';

const q = (s: string) => `'${s.replace(/'/g, "''")}'`;
const COLUMNS = ['line', 'reject', ...EVENT_COLUMNS.map((c) => (c === 'ts' ? 'epoch_ms(ts) AS ts' : c))].join(
  ', ',
);

let instance: DuckDBInstance;
let conn: DuckDBConnection;
/** The records the collector kept, as sent, and their spool lines. */
const records: string[] = [];
const spoolLines: string[] = [];

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
  conn = await instance.connect();
  await conn.run("SET TimeZone='Asia/Tokyo'");
  for (const text of [...CONTRACT_CASES.map((c) => c.text), ...generatedLines(3000)]) {
    const batch = validateNdjson(Buffer.from(text), 10, 'events', '2026-01-01T00:00:00.000Z');
    if ('tooMany' in batch || batch.ends.length === 0) continue;
    records.push(text);
    spoolLines.push(Buffer.from(batch.spool).toString('utf8').slice(0, -1));
  }
  const table = (name: string, texts: string[]) =>
    conn.run(`CREATE TABLE ${name} AS SELECT * FROM (VALUES ${texts.map((t, i) => `(1, 'x', ${i + 1}, ${q(t)})`).join(',\n')})
      AS t(file_seq, source, line, text)`);
  await table('sent', records);
  await table('spooled', spoolLines);
});

afterAll(() => {
  conn?.closeSync();
  instance?.closeSync();
});

/** Rows of a query, props compared by value: JSON.parse spells a number as JS does (1.0 is 1). */
async function rows(sql: string) {
  return (await conn.runAndReadAll(sql))
    .getRowObjectsJS()
    .map((r): Record<string, unknown> => ({ ...r, props: canonicalJson(r.props as string | null) }));
}

describe('acceptedLinesSql', () => {
  it('lands every spool line as the full validator lands the record it came from', async () => {
    const full = await rows(`SELECT ${COLUMNS} FROM (${validatedEventsSql('sent')}) ORDER BY line`);
    expect(full).toHaveLength(records.length);
    expect(full.every((r) => r.reject === null)).toBe(true);
    // Staged as ingest stages spool segments: plain lines normalised, the general ones validated.
    await conn.run(
      `CREATE TABLE staged AS ${acceptedLinesSql('(SELECT file_seq, line, text FROM spooled)')}`,
    );
    const general = '(SELECT * FROM spooled WHERE line IN (SELECT line FROM staged WHERE general))';
    const accepted = await rows(
      `SELECT ${COLUMNS} FROM staged WHERE NOT general
       UNION ALL SELECT ${COLUMNS} FROM (${validatedEventsSql(general)}) ORDER BY line`,
    );
    expect(accepted).toEqual(full);
    const plain = Number(
      (await conn.runAndReadAll('SELECT count(*) FROM staged WHERE NOT general')).getRows()[0]![0],
    );
    // Most take the one-pass path; unknown fields and escapes send some to the full rules.
    expect(plain).toBeGreaterThan(records.length / 2);
    expect(plain).toBeLessThan(records.length);
    expect(full.filter((r) => r.props !== null).length).toBeGreaterThan(20);
  });
});
