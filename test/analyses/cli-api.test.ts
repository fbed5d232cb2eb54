// `adpipe analyze` (the built CLI, on a temp data dir) and GET /v1/analysis/<name> (a real server
// on the same dir) return the same rows; both answer `ab assign`; the API needs a read key.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../api/fixture.js';
import { lakeOf, type TestEvent } from './lake.js';

const BIN = path.resolve('bin/adpipe.js');
const READ_KEY = 'analyses-read-key';
const CONFIG = {
  tz: 'Asia/Seoul',
  server: { read_keys: [READ_KEY] },
  experiments: [{ name: 'checkout-button', variants: { A: 50, B: 50 }, control: 'A' }],
  analyses: { segments: { clicker_clicks: 1 } },
};

const at = (day: number, hour: number) =>
  `2025-06-${String(day).padStart(2, '0')}T${String(hour).padStart(2, '0')}:15:00Z`;
const EVENTS: TestEvent[] = [1, 2, 3, 8, 9].flatMap((day) =>
  ['user-1', 'user-6', 'user-7', 'user-10'].flatMap((user, i) => {
    const tag = {
      user_id: user,
      experiment: 'checkout-button',
      variant: i % 3 ? 'B' : 'A',
      country: i % 2 ? 'KR' : 'US',
    };
    const touch: TestEvent = {
      ...tag,
      type: i % 2 ? 'click' : 'impression',
      ts: at(day, 14 + i),
      campaign_id: `c${(day + i) % 3}`,
    };
    return (day + i) % 4 === 0
      ? [touch, { ...tag, type: 'conversion', ts: at(day, 15 + i), revenue: '1.000001' }]
      : [touch];
  }),
);

let dataDir: string;
let configFile: string;
let server: TestServer;

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, '--data-dir', dataDir, '--config', configFile, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ADPIPE_CONFIG: '', ADPIPE_LOG_LEVEL: 'warn' },
  });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

const RUNS: Array<[string, Record<string, string>]> = [
  ['active-users', { from: '2025-06-01', to: '2025-06-10' }],
  ['active-users', { by: 'country' }],
  ['retention', { tz: 'UTC' }],
  ['sessions', { gap: '90s' }],
  ['segments', {}],
  ['segments', { summary: 'true' }],
  ['attribution', { model: 'linear', lookback: '7d' }],
  ['attribution', { model: 'time-decay', lookback: '7d', half_life: '1d' }],
  ['ab', { experiment: 'checkout-button' }],
  ['audiences', { k: '2', seed: '3' }],
];
const cliArgs = (params: Record<string, string>) =>
  Object.entries(params).flatMap(([k, v]) =>
    k === 'summary' ? ['--summary'] : [`--${k.replace(/_/g, '-')}`, v],
  );

// The CLI runs first: DuckDB lets one process at a time open the data dir.
// Each spawn costs seconds, so JSON (rows and meta) is compared for the analyses with most meta.
const WITH_JSON = ['attribution', 'ab'];
const cliOut = new Map<string, { csv: string; json?: { rows: unknown[]; meta: unknown } }>();
beforeAll(async () => {
  dataDir = await lakeOf('an-cli-api', EVENTS);
  configFile = path.join(dataDir, 'adpipe.yaml');
  writeFileSync(configFile, JSON.stringify(CONFIG)); // JSON is YAML
  for (const [name, params] of RUNS) {
    const key = `${name} ${JSON.stringify(params)}`;
    cliOut.set(key, {
      csv: cli(['analyze', name, ...cliArgs(params), '--format', 'csv']),
      json: WITH_JSON.includes(name)
        ? JSON.parse(cli(['analyze', name, ...cliArgs(params), '--format', 'json']))
        : undefined,
    });
  }
  cliOut.set('assign', {
    csv: cli(['ab', 'assign', '--experiment', 'checkout-button', '--user', 'user-7']),
    json: { rows: [], meta: {} },
  });
  cliOut.set('table', {
    csv: cli(['analyze', 'active-users', '--by', 'app_type']),
    json: { rows: [], meta: {} },
  });
  server = await startServer(dataDir, CONFIG);
}, 240_000);
afterAll(() => server?.close());

const get = (url: string, key: string | null = READ_KEY) =>
  server.app.inject({ url, headers: key ? { authorization: `Bearer ${key}` } : {} });

describe('adpipe analyze and /v1/analysis', () => {
  it('prints the exact CSV header', () => {
    const csv = cliOut.get(`active-users ${JSON.stringify(RUNS[0]![1])}`)!.csv;
    expect(csv.split('\n')[0]).toBe('date,dau,wau,mau,stickiness,new_users');
    expect(csv.split('\n')).toHaveLength(12); // header, 10 dates, final newline
    expect(cliOut.get('table')!.csv).toMatch(/^app_type\s+date\s+dau/);
  });

  it.each(RUNS)('%s %j: the API returns the CLI rows', async (name, params) => {
    const { csv, json } = cliOut.get(`${name} ${JSON.stringify(params)}`)!;
    const query = new URLSearchParams(params).toString();
    const asCsv = await get(`/v1/analysis/${name}?${query}&format=csv`);
    expect(asCsv.statusCode, asCsv.body).toBe(200);
    expect(asCsv.headers['content-type']).toMatch(/text\/csv/);
    expect(asCsv.body).toBe(csv);
    expect(csv.split('\n').length).toBeGreaterThan(2);
    if (!json) return;
    const asJson = await get(`/v1/analysis/${name}?${query}`);
    expect(asJson.statusCode).toBe(200);
    expect(asJson.json().rows).toEqual(json.rows);
    expect(asJson.json().meta).toEqual(json.meta);
  });

  it('assigns the same variant from the CLI and the API', async () => {
    expect(cliOut.get('assign')!.csv).toBe('B\n');
    const r = await get('/v1/ab/assign?experiment=checkout-button&user=user-7');
    expect(r.json()).toEqual({ experiment: 'checkout-button', user: 'user-7', variant: 'B' });
    expect((await get('/v1/ab/assign?experiment=nope&user=u')).statusCode).toBe(404);
  });

  it('needs a read key and names bad parameters', async () => {
    expect((await get('/v1/analysis/active-users', null)).statusCode).toBe(401);
    expect((await get('/v1/ab/assign?experiment=checkout-button&user=u', null)).statusCode).toBe(401);
    const unknown = await get('/v1/analysis/nope');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('ADP_ERR_ANALYSIS_UNKNOWN');
    const foreign = await get('/v1/analysis/sessions?model=linear');
    expect(foreign.statusCode).toBe(400);
    expect(foreign.json().error.message).toMatch(/model: not a parameter of sessions/);
    expect((await get('/v1/analysis/sessions?colour=red')).statusCode).toBe(400);
    expect((await get('/v1/analysis')).json().analyses.map((a: { name: string }) => a.name)).toContain(
      'attribution',
    );
    const paths = Object.keys((await server.app.inject('/openapi.json')).json().paths);
    expect(paths).toEqual(expect.arrayContaining(['/v1/analysis', '/v1/analysis/{name}', '/v1/ab/assign']));
  });
});
