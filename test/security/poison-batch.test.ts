// A poison batch must never stop the pipeline: valid events whose sums do not fit a rollup row are
// split over several rows, a record that cannot be committed even alone is dead-lettered with its
// reason while the records beside it land, and an infrastructure failure is retried with backoff
// while /readyz says why. Everything runs against a real server over HTTP.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { lakeRelation } from '../../src/lake/lake.js';
import { verifyWarehouse } from '../../src/pipeline/verify.js';
import { REPORTS, rollupTable, storedMeasures } from '../../src/reports/model.js';
import { runReportTotals } from '../../src/reports/query.js';
import { retryDelay } from '../../src/runtime/runtime.js';
import { sqlIdent, type Warehouse } from '../../src/warehouse/warehouse.js';
import { startServer, type TestServer } from '../collector/server.js';
import { makeTempDir } from '../helpers/tmp.js';

const DAY = '2025-06-01';
const ev = (id: string, revenue: string, extra: Record<string, unknown> = {}) => ({
  event_id: id,
  type: 'impression',
  ts: `${DAY}T10:00:00Z`,
  media_id: 'm1',
  demand_id: 'd1',
  revenue,
  ...extra,
});
const ndjson = (recs: unknown[]) => recs.map((r) => JSON.stringify(r)).join('\n');

/** Fifty good events of 0.123456 each from another client: 6.1728 in all. */
const GOOD = Array.from({ length: 50 }, (_, i) => ev(`good-${i}`, '0.123456', { media_id: 'm2' }));
const GOOD_REVENUE = '6.172800';

async function post(s: TestServer, recs: unknown[]) {
  const res = await fetch(`${s.url}/v1/events`, {
    method: 'POST',
    body: ndjson(recs),
    headers: { 'content-type': 'application/x-ndjson' },
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { accepted: number; rejected: number; errors?: Array<{ code: string }> };
}

async function readyz(s: TestServer) {
  const res = await fetch(`${s.url}/readyz`);
  return {
    status: res.status,
    body: (await res.json()) as { ready: boolean; checks: Record<string, string> },
  };
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const spoolSegments = (dataDir: string) =>
  readdirSync(path.join(dataDir, 'spool')).filter((f) => f.endsWith('.ndjson'));

/** Waits until the spool holds no segment and the lake has `events` events. */
async function drained(s: TestServer, events: number): Promise<void> {
  await until(`${events} events in the lake and an empty spool`, async () =>
    (await lakeEvents(s.warehouse)) === events && spoolSegments(s.dataDir).length === 0 ? true : undefined,
  );
}

async function lakeEvents(wh: Warehouse): Promise<number> {
  const row = await wh.one<{ n: string }>(`SELECT count(*)::VARCHAR AS n FROM ${await lakeRelation(wh)}`);
  return Number(row!.n);
}

async function lakeRevenue(wh: Warehouse): Promise<string> {
  const row = await wh.one<{ r: string }>(
    `SELECT coalesce(sum(revenue), 0)::DECIMAL(38,6)::VARCHAR AS r FROM ${await lakeRelation(wh)}`,
  );
  return row!.r;
}

/** Revenue in the ad and demand reports, as the API answers it. */
async function reportRevenue(wh: Warehouse): Promise<string[]> {
  const req = { from: DAY, to: DAY, tz: 'UTC' };
  const ad = await runReportTotals(wh, { report: 'ad', ...req });
  const demand = await runReportTotals(wh, { report: 'demand', ...req });
  return [String(ad.revenue), String(demand.revenue)];
}

/** Dead letters of drained batches (b<batch>.ndjson), as parsed records. */
function batchDeadLetters(dataDir: string): Array<Record<string, unknown>> {
  const dir = path.join(dataDir, 'deadletter');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /^b\d+\.ndjson$/.test(f))
    .flatMap((f) =>
      readFileSync(path.join(dir, f), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    );
}

let servers: TestServer[] = [];
async function serve(config: Record<string, unknown> = {}, dataDir?: string): Promise<TestServer> {
  const s = await startServer(config, dataDir);
  servers.push(s);
  return s;
}
afterEach(async () => {
  for (const s of servers) await s.stop().catch(() => undefined);
  servers = [];
});

describe('poison batches', () => {
  it('rejects a money value past the per-event bound and keeps everything beside it', async () => {
    const s = await serve();
    // Before the bound, both were accepted and their sum overflowed every later drain.
    const pair = await post(s, [ev('big', '999999999999.999999'), ev('one', '1')]);
    expect(pair).toMatchObject({ accepted: 1, rejected: 1 });
    expect(pair.errors?.[0]?.code).toBe('money.range');
    await post(s, GOOD);
    await drained(s, 51);
    expect(await lakeRevenue(s.warehouse)).toBe('7.172800');
    expect(await reportRevenue(s.warehouse)).toEqual(['7.172800', '7.172800']);
    expect((await readyz(s)).status).toBe(200);
  });

  it('splits max-value events whose sum overflows a rollup row, losing and doubling nothing', async () => {
    const s = await serve();
    // 1001 events at the per-event maximum in one rollup row: 1.000999999999e12, past DECIMAL(18,6).
    const max = Array.from({ length: 1001 }, (_, i) => ev(`max-${i}`, '999999999.999999'));
    expect(await post(s, [...max, ...GOOD])).toMatchObject({ accepted: 1051, rejected: 0 });
    await drained(s, 1051);
    const expected = (1001n * 999999999999999n + 6172800n).toString();
    const exact = `${expected.slice(0, -6)}.${expected.slice(-6)}`;
    expect(await lakeRevenue(s.warehouse)).toBe(exact);
    expect(await reportRevenue(s.warehouse)).toEqual([exact, exact]);
    expect(batchDeadLetters(s.dataDir)).toEqual([]);
    expect((await readyz(s)).status).toBe(200);
    // adpipe verify recomputes the rollups from the lake: the split rows must add up, not overflow.
    const verified = await verifyWarehouse(s.warehouse);
    expect(verified.checks.filter((c) => !c.ok)).toEqual([]);

    // A restart replays nothing and fails nothing.
    const dataDir = s.dataDir;
    await s.stop();
    servers = [];
    const again = await serve({}, dataDir);
    await post(again, [ev('after-restart', '2')]);
    await drained(again, 1052);
    expect(await reportRevenue(again.warehouse)).toEqual(
      Array(2).fill(`${(BigInt(expected) + 2_000_000n).toString().slice(0, -6)}.${expected.slice(-6)}`),
    );
    expect((await readyz(again)).status).toBe(200);
  });

  it('dead-letters a record that fails to commit even alone, with its reason, and commits the rest once', async () => {
    // A warehouse whose rollups hold less than the contract allows (as a narrower legacy schema
    // would): a single valid event then fails at commit time, the case the split must isolate.
    const dataDir = makeTempDir('poison');
    const first = await serve({}, dataDir);
    for (const report of REPORTS)
      for (const m of storedMeasures(report))
        if (m.kind === 'sum')
          await first.warehouse.run(
            `ALTER TABLE ${sqlIdent(rollupTable(report))} ALTER ${sqlIdent(m.name)} TYPE DECIMAL(9,6)`,
          );
    const res = await post(first, [ev('poison', '5000'), ev('fine', '1'), ...GOOD]);
    expect(res).toMatchObject({ accepted: 52, rejected: 0 });
    await drained(first, 51);
    expect(await reportRevenue(first.warehouse)).toEqual(['7.172800', '7.172800']);
    const dead = batchDeadLetters(dataDir);
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ code: 'commit.data', field: 'record' });
    expect(String(dead[0]!.message)).toMatch(/out of range|cast/i);
    expect(JSON.parse(String(dead[0]!.text))).toMatchObject({ event_id: 'poison', revenue: '5000.000000' });
    const ledger = await first.warehouse.one<{ records: string; accepted: string; rejected: string }>(
      'SELECT sum(records)::VARCHAR AS records, sum(accepted)::VARCHAR AS accepted, sum(rejected)::VARCHAR AS rejected FROM ledger',
    );
    expect(ledger).toEqual({ records: '52', accepted: '51', rejected: '1' });
    expect((await readyz(first)).status).toBe(200);
  });

  it('retries an infrastructure failure with backoff, fails /readyz with the reason, then recovers', async () => {
    const s = await serve({ drain_retry_max_ms: 400 });
    // A file where the lake directory should be: no one, root included, can write the lake.
    const lake = path.join(s.dataDir, 'lake');
    rmSync(lake, { recursive: true, force: true });
    writeFileSync(lake, 'not a directory');
    await post(s, GOOD);
    const failing = await until('/readyz to fail', async () => {
      const r = await readyz(s);
      return r.status === 503 && r.body.checks.drain ? r : undefined;
    });
    expect(failing.body.checks.drain).toMatch(/ENOTDIR|not a directory/i);
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    expect(metrics).toMatch(/adpipe_drain_batches_total\{result="error"\} [1-9]/);
    expect(metrics).toMatch(/adpipe_drain_consecutive_failures [1-9]/);
    expect(spoolSegments(s.dataDir).length).toBeGreaterThan(0);

    rmSync(lake);
    mkdirSync(lake);
    await drained(s, 50);
    await until('/readyz to recover', async () => ((await readyz(s)).status === 200 ? true : undefined));
    expect(await reportRevenue(s.warehouse)).toEqual([GOOD_REVENUE, GOOD_REVENUE]);
    const after = await (await fetch(`${s.url}/metrics`)).text();
    expect(after).toMatch(/adpipe_drain_consecutive_failures 0/);
  });
});

describe('drain retry delay', () => {
  it('doubles from the drain interval up to the maximum, with jitter in its upper half', () => {
    for (const [failures, ceiling] of [
      [1, 200],
      [2, 400],
      [3, 800],
      [9, 5000],
      [500, 5000],
    ] as const) {
      const delays = Array.from({ length: 200 }, () => retryDelay(200, 5000, failures));
      expect(Math.min(...delays)).toBeGreaterThanOrEqual(ceiling / 2);
      expect(Math.max(...delays)).toBeLessThanOrEqual(ceiling);
      expect(new Set(delays).size).toBeGreaterThan(1);
    }
  });
});

describe('adpipe ingest of a poison file beside a good one', () => {
  const CLI = path.resolve('test/collector/cli.ts');
  const adpipe = (dataDir: string, ...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', CLI, '--data-dir', dataDir, ...args], {
      encoding: 'utf8',
    });

  it('lands the good file and the valid records, dead-letters the poison, exits 0 and re-runs as a no-op', async () => {
    const dir = makeTempDir('poison-cli');
    const input = path.join(dir, 'in');
    mkdirSync(input);
    const max = Array.from({ length: 1001 }, (_, i) => ev(`max-${i}`, '999999999.999999'));
    writeFileSync(
      path.join(input, 'a-poison.jsonl'),
      ndjson([ev('big', '999999999999.999999'), ev('one', '1'), ...max]),
    );
    writeFileSync(path.join(input, 'b-good.jsonl'), ndjson(GOOD));
    const dataDir = path.join(dir, 'data');
    const run = adpipe(dataDir, 'ingest', input);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/events accepted 1052 \/ duplicates 0 \/ rejected 1/);
    expect(run.status).toBe(0);
    const dead = batchDeadLetters(dataDir);
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ code: 'money.range', field: 'revenue', line: 1 });

    const report = adpipe(
      dataDir,
      'report',
      'ad',
      '--from',
      DAY,
      '--to',
      DAY,
      '--tz',
      'UTC',
      '--format',
      'json',
    );
    expect(report.status).toBe(0);
    const rows = (JSON.parse(report.stdout) as { rows: Array<Record<string, unknown>> }).rows;
    const revenue = Object.fromEntries(rows.map((r) => [r.media_id, r.revenue]));
    expect(revenue).toEqual({ m1: '1001000000000.998999', m2: GOOD_REVENUE });

    const rerun = adpipe(dataDir, 'ingest', input);
    expect(rerun.stdout).toMatch(/files read 0 \/ skipped 2/);
    expect(rerun.status).toBe(0);
  });
});
