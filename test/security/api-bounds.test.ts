// Issue #23, finding 7 and parts of 8, against a real server over HTTP: reports bounded in span ×
// grain, cancelled when the client leaves, a reader kept for cheap reports; error bodies without
// paths or SQL; event times and report dates outside the contract's range refused.

import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFixture } from '../api/fixture.js';
import { startServer, type TestServer } from '../collector/server.js';

interface ErrorBody {
  error: { code: string; message: string; request_id?: string };
}

const get = (s: TestServer, query: string, signal?: AbortSignal) =>
  fetch(`${s.url}/v1/reports/${query}`, { signal: signal ?? AbortSignal.timeout(30_000) });

describe('report bounds and error bodies', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer({}, await buildFixture('sec-api'));
  });
  afterAll(() => s?.stop());

  it('refuses a time series of more periods than server.report_max_periods, naming the limit and a way out', async () => {
    const res = await get(s, 'media?grain=hour&from=2000-01-01&to=2020-12-31&by=');
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as ErrorBody;
    expect(error.code).toBe('ADP_ERR_REPORT_TOO_LARGE');
    expect(error.message).toContain('184104 periods at grain hour');
    expect(error.message).toContain('100000 (server.report_max_periods)');
    expect(error.message).toContain('coarser grain or a shorter range');
  });

  it('answers a month series over 1970…9999 from the buckets that exist, in bounded time and memory', async () => {
    const before = process.memoryUsage().rss;
    const started = Date.now();
    const res = await get(s, 'media?grain=month&from=1970-01-01&to=9999-12-31&by=&totals=false');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { rows: Array<{ month: string }> };
    expect(body.rows.map((r) => r.month)).toEqual(['2024-04', '2024-05']);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(process.memoryUsage().rss - before).toBeLessThan(300 * 1024 * 1024);
  });

  it('refuses dates before 1970-01-01 and a comparison reaching before it', async () => {
    const early = await get(s, 'media?from=1969-12-31&to=2024-05-01');
    expect(early.status).toBe(400);
    expect(((await early.json()) as ErrorBody).error.message).toBe(
      'invalid parameter from: must be a date from 1970-01-01 to 9999-12-31',
    );
    const compare = await get(s, 'media?grain=total&from=1970-01-01&to=5000-01-01&compare=previous');
    expect(compare.status).toBe(400);
    const { error } = (await compare.json()) as ErrorBody;
    expect(error).toMatchObject({
      code: 'ADP_ERR_BAD_PARAM',
      message: 'invalid parameter compare: the previous period would start before 1970-01-01',
    });
  });

  it('answers an engine failure with a code and a request id, never its SQL or paths', async () => {
    await s.warehouse.run('ALTER TABLE rollup_media RENAME TO rollup_media_away');
    try {
      const res = await get(s, 'media?grain=total&by=');
      expect(res.status).toBe(500);
      const text = await res.text();
      expect(text).not.toMatch(/rollup_media|SELECT|Catalog|\/work\/|test\/tmp/);
      const { error } = JSON.parse(text) as ErrorBody;
      expect(error.code).toBe('ADP_ERR_INTERNAL');
      expect(error.request_id).toMatch(/^req-/);
      expect(error.message).toBe(
        `internal error; the server log has the details under request id ${error.request_id}`,
      );
    } finally {
      await s.warehouse.run('ALTER TABLE rollup_media_away RENAME TO rollup_media');
    }
  });

  it('carries a request id in every error body', async () => {
    const res = await get(s, 'nope');
    expect(res.status).toBe(404);
    expect(((await res.json()) as ErrorBody).error.request_id).toMatch(/^req-/);
    // Routes with a response schema keep it too (fastify drops properties a schema lacks).
    for (const route of ['/v1/analysis/nope', '/v1/analysis/active-users?from=2025-02-30']) {
      const answer = await fetch(`${s.url}${route}`);
      expect(answer.status, route).toBeGreaterThanOrEqual(400);
      expect(((await answer.json()) as ErrorBody).error.request_id, route).toMatch(/^req-/);
    }
  });
});

describe('error bodies of a failing read', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer({ query_sql: true }, await buildFixture('sec-api-paths'));
    // A lake file the manifest lists goes missing: DuckDB's message names its absolute path.
    const [file] = await s.warehouse.all<{ path: string }>('SELECT path FROM lake_files LIMIT 1');
    rmSync(path.join(s.warehouse.lakeDir, file!.path));
  });
  afterAll(() => s?.stop());

  it('names what failed in a 4xx without the server path, which stays in the log', async () => {
    const res = await fetch(`${s.url}/v1/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sql: 'SELECT count(*) AS n FROM lake' }),
    });
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text).not.toContain(s.dataDir);
    const { error } = JSON.parse(text) as ErrorBody;
    expect(error.code).toBe('ADP_ERR_QUERY_FAILED');
    expect(error.message).toContain('<path>');
    expect(error.request_id).toMatch(/^req-/);
  });
});

describe('event times past the contract range', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer({});
  });
  afterAll(() => s?.stop());

  it('rejects a time whose local date reaches year 10000 in some zone, so periods stay in order', async () => {
    const ev = (event_id: string, ts: string) => ({
      event_id,
      type: 'impression',
      ts,
      media_id: 'm1',
      org_id: 'o1',
    });
    const res = await fetch(`${s.url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        ev('now', '2024-01-01T00:00:00Z'),
        ev('late', '9999-12-31T20:00:00Z'),
        ev('five-digit', '+10000-01-01T00:00:00+09:00'),
      ]),
    });
    expect(res.status).toBe(200);
    const out = (await res.json()) as { accepted: number; errors: Array<{ index: number; code: string }> };
    expect(out.accepted).toBe(1);
    expect(out.errors).toEqual([
      expect.objectContaining({ index: 1, code: 'ts.invalid' }),
      expect.objectContaining({ index: 2, code: 'ts.invalid' }),
    ]);
    await expect
      .poll(
        async () =>
          ((await (await get(s, 'media?grain=day&by=&tz=Asia/Seoul')).json()) as { rows: unknown[] }).rows,
        { timeout: 15_000 },
      )
      .toEqual([expect.objectContaining({ date: '2024-01-01' })]);
  });
});

/** Rollup rows enough that a report over all of them at hour grain runs for many seconds. */
async function heavyRollup(s: TestServer, rows: number): Promise<void> {
  await s.warehouse.run(
    `INSERT INTO rollup_ad_request
     SELECT 1, TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_minutes((i % 35040) * 15), 'o' || (i % 50),
       'm' || (i % 5000), 'inv' || (i % 20000), CASE WHEN i % 2 = 0 THEN 'PC' ELSE 'MOBILE' END,
       CASE i % 3 WHEN 0 THEN 'WEB' WHEN 1 THEN 'IOS' ELSE 'AOS' END, 'KR', 3, 2, 1
     FROM range(${rows}) t(i)`,
  );
}

const HEAVY = 'ad_request?grain=hour&by=org_id,media_id,inventory_id,device,app_type&limit=10';
const CHEAP = 'ad_request?from=2024-03-01&to=2024-03-01&grain=day&by=';
/** No dates: a heavy-lane request, but over a small scan. */
const LIGHT_HEAVY_LANE = 'ad_request?grain=total&by=&filter=media_id:m1';

describe('report readers under expensive reports', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer({});
    await heavyRollup(s, 1_000_000);
  });
  afterAll(() => s?.stop());

  /** Starts `n` heavy reports and waits until they are surely running (or waiting for a reader). */
  async function startHeavy(n: number) {
    const clients = Array.from({ length: n }, () => new AbortController());
    const answers = clients.map((c) => get(s, HEAVY, c.signal).catch(() => undefined));
    await new Promise((r) => setTimeout(r, 1000));
    return {
      abort: () => {
        for (const c of clients) c.abort();
      },
      answers,
    };
  }

  it('answers a cheap report quickly while four expensive ones are in flight', async () => {
    const heavy = await startHeavy(4);
    try {
      const started = Date.now();
      const res = await get(s, CHEAP);
      expect(res.status).toBe(200);
      expect(Date.now() - started).toBeLessThan(2_000);
      // Nothing heavy has finished: the cheap one did not just wait for a reader to come free.
      expect(await Promise.race([Promise.all(heavy.answers), 'running'])).toBe('running');
    } finally {
      heavy.abort();
    }
  });

  it('stops the engine on a report whose client left, so its reader serves the next request', async () => {
    const heavy = await startHeavy(4);
    heavy.abort();
    const started = Date.now();
    const res = await get(s, LIGHT_HEAVY_LANE);
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
