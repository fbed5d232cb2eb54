import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { buildFixture, startServer, type TestServer } from './fixture.js';

let dataDir: string;
let server: TestServer;
beforeAll(async () => {
  dataDir = await buildFixture('api-sql');
  server = await startServer(dataDir, {
    server: { query_sql: true, query_max_rows: 5, query_timeout_ms: 300 },
  });
});
afterAll(() => server.close());

const query = (sql: string) => server.app.inject({ method: 'POST', url: '/v1/query', payload: { sql } });

describe('POST /v1/query', () => {
  it('runs a SELECT over the lake view and the rollups', async () => {
    const r = await query(
      `WITH l AS (SELECT count(*) AS n FROM lake WHERE type = 'impression')
       SELECT l.n AS lake_impressions, (SELECT sum(impressions) FROM rollup_ad) AS rollup_impressions FROM l`,
    );
    expect(r.statusCode, r.body).toBe(200);
    const body = r.json();
    expect(body.columns).toEqual(['lake_impressions', 'rollup_impressions']);
    expect(body.rows[0].lake_impressions).toBe(body.rows[0].rollup_impressions);
    expect(Number(body.rows[0].lake_impressions)).toBeGreaterThan(0);
  });

  it('stops at the row limit and says so', async () => {
    const body = (await query('SELECT event_id FROM lake ORDER BY event_id')).json();
    expect(body.rows).toHaveLength(5);
    expect(body.truncated).toBe(true);
  });

  it('refuses anything but one SELECT, decided by the DuckDB parser', async () => {
    for (const sql of [
      'DELETE FROM ledger',
      'INSERT INTO dim_org VALUES (1, 2)',
      "COPY ledger TO '/tmp/x.csv'",
      'SELECT 1; DROP TABLE ledger',
      'DROP TABLE ledger',
      "ATTACH '/tmp/other.db'",
      'PRAGMA database_list',
    ]) {
      const r = await query(sql);
      expect([400, 403], sql).toContain(r.statusCode);
      expect(['ADP_ERR_QUERY_READ_ONLY', 'ADP_ERR_QUERY_FAILED'], sql).toContain(r.json().error.code);
    }
    expect((await query('SELECT count(*) AS n FROM ledger')).json().rows[0].n).toBe('1');
  });

  it('refuses table functions and files: only the lake, rollups, metadata and pipeline tables', async () => {
    for (const sql of [
      "SELECT * FROM read_text('/etc/passwd')",
      "SELECT * FROM '/etc/passwd'",
      "SELECT * FROM read_csv('/etc/hostname')",
      "SELECT * FROM lake WHERE event_id IN (SELECT content FROM read_text('/etc/hostname'))",
      'SELECT * FROM seen_ids',
      'SELECT * FROM duckdb_settings()',
    ]) {
      const r = await query(sql);
      expect(r.statusCode, sql).toBe(403);
      expect(r.json().error.code).toBe('ADP_ERR_QUERY_READ_ONLY_TABLES');
    }
  });

  it('interrupts a query over the time limit', async () => {
    const r = await query(
      'SELECT count(*) FROM rollup_ad a, rollup_ad b, rollup_ad c, rollup_ad d, rollup_ad e',
    );
    expect(r.statusCode).toBe(400);
    expect(r.json().error.code).toBe('ADP_ERR_QUERY_TIMEOUT');
  });

  it('is off unless server.query_sql is set', async () => {
    const off = await startServer(await buildFixture('api-sql-off'));
    try {
      const r = await off.app.inject({ method: 'POST', url: '/v1/query', payload: { sql: 'SELECT 1' } });
      expect(r.statusCode).toBe(404);
      expect(r.json().error.code).toBe('ADP_ERR_QUERY_SQL_OFF');
    } finally {
      await off.close();
    }
  });
});

describe('adpipe query', () => {
  it('prints a SELECT over a read-only warehouse, refuses writes', async () => {
    const out: string[] = [];
    const capture = new Writable({
      write(chunk, _enc, done) {
        out.push(String(chunk));
        done();
      },
    });
    const write = process.stdout.write.bind(process.stdout);
    // The warehouse is single-writer: the CLI can only open it once the server has let go.
    await server.close();
    process.stdout.write = capture.write.bind(capture) as typeof process.stdout.write;
    try {
      await main([
        'node',
        'adpipe',
        '--data-dir',
        dataDir,
        'query',
        "SELECT count(*) AS n FROM lake WHERE type = 'request' AND demand_id IS NULL",
        '--format',
        'csv',
      ]);
      await main(['node', 'adpipe', '--data-dir', dataDir, 'query', 'DELETE FROM ledger']);
    } finally {
      process.stdout.write = write;
      server = await startServer(dataDir, { server: { query_sql: true } });
    }
    expect(out.join('')).toBe('n\n120\n');
    expect(process.exitCode).toBe(2);
    process.exitCode = 0;
  });
});

describe('POST /v1/query under a burst', () => {
  // ~0.3 s each on two cores: the first is still running (its process not even started) when the last arrives.
  const SLOW =
    'SELECT count(*) AS n FROM lake a, lake b, rollup_ad c WHERE hash(a.event_id, b.event_id, c.impressions) % 7 = 0';

  it('answers 503 with Retry-After beyond server.query_max_queued, the rest 200, and serves normally after', async () => {
    const s = await startServer(await buildFixture('api-sql-burst'), {
      server: { query_sql: true, query_timeout_ms: 20_000, query_max_queued: 2 },
    });
    try {
      const url = await s.app.listen({ port: 0, host: '127.0.0.1' });
      const post = (sql: string) =>
        fetch(`${url}/v1/query`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ sql }),
        });
      const answers = await Promise.all(
        Array.from({ length: 8 }, async () => {
          const res = await post(SLOW);
          return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.json() };
        }),
      );
      // One running and two waiting; the five beyond are refused at once.
      const ok = answers.filter((a) => a.status === 200);
      const busy = answers.filter((a) => a.status === 503);
      expect([ok.length, busy.length]).toEqual([3, 5]);
      expect(new Set(ok.map((a) => a.body.rows[0].n)).size).toBe(1);
      for (const a of busy) {
        expect(a.retryAfter).toBe('20');
        expect(a.body.error).toMatchObject({ code: 'ADP_ERR_QUERY_BUSY', request_id: expect.any(String) });
      }
      // The queue is empty again: as many as the bound holds all run.
      const after = await Promise.all(Array.from({ length: 3 }, () => post('SELECT 42 AS n')));
      expect(after.map((r) => r.status)).toEqual([200, 200, 200]);
      expect((await after[0]!.json()).rows).toEqual([{ n: 42 }]);
    } finally {
      await s.close();
    }
  });
});
