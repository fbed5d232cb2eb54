// POST /v1/query and `adpipe query` against a real `adpipe serve` (node bin/adpipe.js, built by
// `npx tsc -p tsconfig.json`) over HTTP: user SQL reads only the readable relations, resolved with
// CTE scope, never files, the catalog or the network; a runaway query stops near its time limit and
// its memory stays bounded, measured on the server's process tree.

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFixture } from '../api/fixture.js';
import { makeTempDir } from '../helpers/tmp.js';

const BIN = path.resolve('bin/adpipe.js');
const READ_KEY = 'read-key-0123456789';
const WRITE_KEY = 'write-key-0123456789';
const TIMEOUT_MS = 3000;
/** The default server.query_memory_mb: what a query's process may use. */
const QUERY_MEMORY_MB = 512;
/** Above this growth of the server's process tree, a test stops the server at once. */
const RUNAWAY_MB = 2048;
const SECRET = 'TOP-SECRET-7f3a';

/** Resident memory of a process and all its descendants, in MB. */
function treeRssMb(pid: number): number {
  let kb = 0;
  const visit = (p: number) => {
    try {
      kb += Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0);
      for (const task of readdirSync(`/proc/${p}/task`)) {
        const kids = readFileSync(`/proc/${p}/task/${task}/children`, 'utf8').trim();
        for (const kid of kids ? kids.split(' ') : []) visit(Number(kid));
      }
    } catch {
      /* the process ended meanwhile */
    }
  };
  visit(pid);
  return kb / 1024;
}

/** Runs `fn` while sampling the tree's memory; stops the process if it runs away. */
async function measured<T>(proc: ChildProcess, fn: () => Promise<T>) {
  const base = treeRssMb(proc.pid!);
  let peak = base;
  const started = Date.now();
  const watch = setInterval(() => {
    peak = Math.max(peak, treeRssMb(proc.pid!));
    if (peak - base > RUNAWAY_MB) proc.kill('SIGKILL');
  }, 20);
  try {
    const result = await fn();
    return { result, growthMb: peak - base, ms: Date.now() - started };
  } catch (err) {
    return { result: err as T, growthMb: peak - base, ms: Date.now() - started };
  } finally {
    clearInterval(watch);
  }
}

let dataDir: string;
let files: string;
let server: ChildProcess;
let url: string;
let http: Server;
let httpHits = 0;
let httpUrl: string;

beforeAll(async () => {
  if (!existsSync('dist/cli/main.js')) throw new Error('build dist/ first: npx tsc -p tsconfig.json');
  dataDir = await buildFixture('sec-query');
  files = makeTempDir('sec-query-files');
  writeFileSync(path.join(files, 'secret.csv'), `token\n${SECRET}\n`);
  const config = path.join(files, 'adpipe.json');
  writeFileSync(
    config,
    JSON.stringify({
      server: {
        query_sql: true,
        read_keys: [READ_KEY],
        write_keys: [WRITE_KEY],
        query_timeout_ms: TIMEOUT_MS,
        drain_interval_ms: 100,
      },
    }),
  );
  server = spawn(
    process.execPath,
    [BIN, '--data-dir', dataDir, '--config', config, 'serve', '--port', '0', '--host', '127.0.0.1'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  url = await new Promise<string>((resolve, reject) => {
    let out = '';
    server.stdout!.on('data', (chunk) => {
      out += String(chunk);
      const m = /serving on (http:\/\/[^\s]+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    server.once('exit', (code) => reject(new Error(`adpipe serve exited ${code}`)));
  });
  // A web server the queries must never reach.
  http = createServer((_req, res) => {
    httpHits++;
    res.end(`token\n${SECRET}\n`);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  httpUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  server?.kill('SIGKILL');
  http?.close();
});

interface Answer {
  status: number;
  text: string;
  body: { rows: Array<Record<string, unknown>>; error: { code: string; message: string } };
}

async function query(sql: string): Promise<Answer> {
  const r = await fetch(`${url}/v1/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${READ_KEY}` },
    body: JSON.stringify({ sql }),
  });
  const text = await r.text();
  return { status: r.status, body: JSON.parse(text), text };
}

async function expectRefused(sql: string) {
  const r = await query(sql);
  expect(r.text, sql).not.toContain(SECRET);
  expect(r.status, `${sql}: ${r.text}`).toBe(403);
  expect(r.body.error.code, sql).toMatch(/^ADP_ERR_QUERY_READ_ONLY/);
  expect(r.body.error.message, sql).not.toContain(dataDir);
  return r.body.error.message as string;
}

describe('POST /v1/query reads only the readable relations', () => {
  it('does not let a CTE name make a file readable outside its scope', async () => {
    const file = path.join(files, 'secret.csv');
    const glob = path.join(files, '*.csv');
    for (const sql of [
      `SELECT * FROM (WITH "${glob}" AS (SELECT 1) SELECT 1) w, "${glob}"`,
      `SELECT * FROM (WITH "${file}" AS (SELECT 1) SELECT 1) w, "${file}"`,
      // A later sibling is not visible to an earlier CTE.
      `WITH a AS (SELECT * FROM "${file}"), "${file}" AS (SELECT 1 AS token) SELECT * FROM a`,
      // Nor is a CTE of one branch of a set operation to the other.
      `SELECT * FROM (WITH "${file}" AS (SELECT 'x' AS token) SELECT * FROM "${file}") UNION ALL SELECT * FROM "${file}"`,
      `SELECT * FROM lake WHERE event_id IN (WITH "${file}" AS (SELECT 1) SELECT 1) OR event_id IN (SELECT token FROM "${file}")`,
      `SELECT * FROM lake, LATERAL (WITH "${file}" AS (SELECT 1) SELECT 1) l, LATERAL (SELECT * FROM "${file}") f`,
      `WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r, "${file}" WHERE n < 2) SELECT * FROM r`,
      `SELECT * FROM '${file}'`,
      `FROM '${file}'`,
      `SELECT (SELECT token FROM "${file}")`,
    ])
      await expectRefused(sql);
  });

  it('refuses seen_ids and the catalog, however they are named', async () => {
    for (const sql of [
      'SELECT * FROM (WITH seen_ids AS (SELECT 1) SELECT 1) w, seen_ids',
      'SELECT * FROM (WITH duckdb_tables AS (SELECT 1) SELECT 1) w, duckdb_tables',
      'SELECT * FROM seen_ids',
      'SELECT * FROM main.seen_ids',
      'SELECT * FROM "main.seen_ids"',
      'SELECT * FROM memory.main.lake',
      'SELECT * FROM information_schema.tables',
      'SELECT * FROM duckdb_tables()',
      'SELECT * FROM duckdb_settings()',
      'SELECT * FROM pragma_database_list()',
      'SELECT * FROM lake AT (VERSION => 1)',
      'SHOW TABLES',
      'SELECT * FROM (SHOW TABLES)',
      'SELECT * FROM (DESCRIBE lake)',
    ])
      await expectRefused(sql);
  });

  it('refuses functions that read files, settings or run SQL from a string', async () => {
    const file = path.join(files, 'secret.csv');
    for (const sql of [
      `SELECT * FROM read_csv('${file}')`,
      `SELECT * FROM read_text('${file}')`,
      `SELECT * FROM glob('${files}/*')`,
      `SELECT * FROM query('SELECT * FROM seen_ids')`,
      `SELECT * FROM query_table('seen_ids')`,
      "SELECT current_setting('temp_directory')",
      "SELECT getenv('HOME')",
      "SELECT json_execute_serialized_sql(json_serialize_sql('SELECT * FROM seen_ids'))",
      "SELECT main.read_text('/etc/hostname')",
      "SELECT count(*) FROM lake WHERE event_id = ANY(SELECT content FROM read_text('/etc/hostname'))",
    ])
      await expectRefused(sql);
  });

  it('never reaches the network and installs no extension', async () => {
    const started = Date.now();
    for (const sql of [
      `SELECT * FROM '${httpUrl}/x.csv'`,
      `SELECT * FROM read_csv('${httpUrl}/x.csv')`,
      `SELECT * FROM (WITH "${httpUrl}/x.csv" AS (SELECT 1) SELECT 1) w, "${httpUrl}/x.csv"`,
    ])
      await expectRefused(sql);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(httpHits).toBe(0);
  });

  it('still answers the queries it is for', async () => {
    const r = await query(
      `WITH imps AS (SELECT count(*) AS n FROM lake WHERE type = 'impression'),
            per_media AS (
              WITH m AS (SELECT media_id, name FROM dim_media)
              SELECT m.name, sum(r.impressions) AS impressions
              FROM rollup_ad r JOIN m USING (media_id) GROUP BY ALL
            ),
            RECURSIVE_free AS (SELECT * FROM per_media WHERE impressions > 0)
       SELECT (SELECT n FROM imps) AS lake_impressions,
              (SELECT sum(impressions) FROM RECURSIVE_free) AS joined_impressions,
              (SELECT count(*) FROM lake_files l JOIN batches b USING (batch_id)) AS files,
              (SELECT count(*) FROM (SELECT org_id FROM dim_org UNION SELECT org_id FROM dim_media)) AS orgs,
              (WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT sum(n) FROM r) AS fifteen`,
    );
    expect(r.status, r.text).toBe(200);
    const row = r.body.rows[0]!;
    expect(Number(row.lake_impressions)).toBeGreaterThan(0);
    expect(row.joined_impressions).toBe(row.lake_impressions);
    expect(Number(row.files)).toBeGreaterThan(0);
    expect(row.orgs).toBe('2');
    expect(row.fifteen).toBe('15');
    // A CTE may shadow a readable table; window functions, lateral joins and casts work.
    const w = await query(
      `WITH lake AS (SELECT 1 AS x) SELECT x, sum(x) OVER () AS s, l.y::VARCHAR AS y
       FROM lake, LATERAL (SELECT x + 1 AS y) l`,
    );
    expect(w.status, w.text).toBe(200);
    expect(w.body.rows).toEqual([{ x: 1, s: '1', y: '2' }]);
  });

  it('names no server path when an allowed query fails', async () => {
    const r = await query('SELECT no_such_column FROM rollup_ad, lake');
    expect(r.status, r.text).toBe(400);
    expect(r.body.error.code).toBe('ADP_ERR_QUERY_FAILED');
    expect(r.text).not.toContain(dataDir);
  });

  it('sees events committed after its previous query, in the lake and the rollups', async () => {
    // Both relations in one query: the lake's file list and the rollup's copy must move together.
    const count = async () => {
      const r = await query(
        'SELECT (SELECT count(*) FROM lake) AS n, (SELECT sum(requests) FROM rollup_ad_request) AS requests',
      );
      return `${r.body.rows[0]?.n}/${r.body.rows[0]?.requests}`;
    };
    const [lakeBefore, requestsBefore] = (await count()).split('/').map(Number) as [number, number];
    const event = {
      event_id: 'sec-query-new',
      type: 'request',
      ts: '2024-05-02T10:00:00Z',
      org_id: 'o1',
      media_id: 'm1',
    };
    const posted = await fetch(`${url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${WRITE_KEY}` },
      body: JSON.stringify([event]),
    });
    expect(posted.status, await posted.text()).toBe(200);
    await expect.poll(count, { timeout: 10_000 }).toBe(`${lakeBefore + 1}/${requestsBefore + 1}`);
  });
});

describe('POST /v1/query is bounded in time and memory', () => {
  it('stops a generate_series bomb near its time limit with bounded memory', async () => {
    const m = await measured(server, () =>
      query('SELECT count(*) FROM (SELECT unnest(generate_series(1, 100000000)))'),
    );
    // Memory first: when it ran away, the server was stopped and nothing else can be asked.
    expect(m.growthMb, 'memory growth of the server process tree, MB').toBeLessThan(QUERY_MEMORY_MB + 128);
    expect(m.result.status, m.result.text).toBe(400);
    expect(m.result.body.error.code).toMatch(/^ADP_ERR_QUERY_(TIMEOUT|MEMORY)$/);
    expect(m.ms).toBeLessThan(TIMEOUT_MS + 2000);
    // Memory came back and the next query runs.
    const after = await measured(server, () => query('SELECT count(*) AS n FROM rollup_ad'));
    expect(after.result.status).toBe(200);
  });

  it('stops a cross join with bounded memory', async () => {
    const m = await measured(server, () =>
      query('SELECT a.*, b.*, c.event_id FROM lake a, lake b, lake c ORDER BY random()'),
    );
    // Memory first: when it ran away, the server was stopped and nothing else can be asked.
    expect(m.growthMb, 'memory growth of the server process tree, MB').toBeLessThan(QUERY_MEMORY_MB + 128);
    expect(m.result.status, m.result.text).toBe(400);
    expect(m.result.body.error.code).toMatch(/^ADP_ERR_QUERY_(TIMEOUT|MEMORY)$/);
    expect(m.ms).toBeLessThan(TIMEOUT_MS + 2000);
  });
});

describe('adpipe query', () => {
  it('stops a generate_series bomb near its --timeout with bounded memory', async () => {
    const dir = await buildFixture('sec-query-cli');
    const cli = (sql: string) => {
      const proc = spawn(
        process.execPath,
        [BIN, '--data-dir', dir, 'query', sql, '--timeout', String(TIMEOUT_MS)],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      proc.stderr!.on('data', (c) => {
        stderr += String(c);
      });
      const exited = new Promise<string>((resolve) => proc.once('exit', () => resolve(stderr)));
      return measured(proc, () => exited);
    };
    // Starting the CLI and its query process takes seconds on a loaded machine: measured first.
    const startup = await cli('SELECT 1');
    expect(startup.result).toBe('');
    const bomb = await cli('SELECT count(*) FROM (SELECT unnest(generate_series(1, 100000000)))');
    expect(bomb.growthMb, 'memory').toBeLessThan(QUERY_MEMORY_MB + 256);
    expect(bomb.ms).toBeLessThan(startup.ms + TIMEOUT_MS + 2000);
    expect(bomb.result).toMatch(/ADP_ERR_QUERY_(TIMEOUT|MEMORY)/);
  }, 60_000);
});
