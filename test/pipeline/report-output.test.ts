// `adpipe report` output: CSV layout and money formatting, zero rows left out, --by regrouping
// equal to sums of the finer rows, --metrics equal to ratios of the additive totals.
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { divRound, MICROS, parseMicros } from '../../src/money.js';
import { runReport } from '../../src/reports/query.js';
import { makeTempDir } from '../helpers/tmp.js';
import {
  emptyState,
  expectedReport,
  ingestInProcess,
  makeEvents,
  type OracleState,
  oracleIngest,
  parseCsv,
  parseMeta,
  prng,
  runCli,
  SPECS,
  spec,
  withWarehouse,
  writeMetadata,
  writeSpelled,
} from './fixtures.js';

const root = makeTempDir('pipe-report');
const META = parseMeta();
const data = path.join(root, 'data');
let oracle: OracleState;

beforeAll(async () => {
  const metadata = writeMetadata(path.join(root, 'metadata'));
  const rng = prng(31);
  const files = [path.join(root, 'in', 'a.jsonl'), path.join(root, 'in', 'b.csv')];
  const events = makeEvents(rng, 900, 'r');
  await writeSpelled(files[0]!, rng, events.slice(0, 450));
  await writeSpelled(files[1]!, rng, events.slice(450));
  await ingestInProcess(data, files, { metadata });
  oracle = oracleIngest(emptyState(), files, META);
}, 60_000);

const MONEY = new Set([
  'revenue',
  'cost',
  'conversion_value',
  'gross_revenue',
  'media_revenue',
  'agency_revenue',
]);

describe('adpipe report --format csv', () => {
  it.each([
    ['media', 'Asia/Kathmandu'],
    ['ad_request', 'America/New_York'],
    ['ad', 'Asia/Kolkata'],
  ])(
    '%s in %s: header, dimensions then measures, 6-decimal money, no all-zero rows, equal to the oracle',
    async (name, tz) => {
      const s = spec(name);
      const r = await runCli(data, ['report', name, '--format', 'csv', '--tz', tz]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const [header, ...rows] = parseCsv(r.stdout);
      const measures = [
        ...s.measures.map((m) => m.name),
        ...(s.share ? ['media_revenue', 'agency_revenue'] : []),
      ];
      expect(header).toEqual(['date', ...s.dims, ...measures]);
      expect(rows.length).toBeGreaterThan(5);
      for (const row of rows) {
        expect(row.length).toBe(header!.length);
        const values = row.slice(1 + s.dims.length);
        values.forEach((v, i) => {
          if (MONEY.has(measures[i]!)) expect(v, measures[i]).toMatch(/^\d+\.\d{6}$/);
          else expect(v, measures[i]).toMatch(/^\d+$/);
        });
        expect(values.some((v) => /[1-9]/.test(v))).toBe(true);
      }
      expect(rows.map((row) => row.join('|')).sort()).toEqual(expectedReport(s, oracle.events, META, { tz }));
      if (s.all.length) expect(rows.some((row) => row.includes('ALL'))).toBe(true);
    },
  );

  it('--metrics adds derived columns; a zero denominator is an empty cell', async () => {
    const r = await runCli(data, ['report', 'ad', '--format', 'csv', '--metrics', '--by', 'demand_id,ad_id']);
    expect(r.code).toBe(0);
    const [header, ...rows] = parseCsv(r.stdout);
    expect(header).toEqual([
      'date',
      'demand_id',
      'ad_id',
      'impressions',
      'clicks',
      'conversions',
      'revenue',
      'cost',
      'ctr',
      'cvr',
      'ecpm',
      'cpc',
      'cpa',
    ]);
    const col = (row: string[], n: string) => row[header!.indexOf(n)]!;
    let empty = 0;
    for (const row of rows) {
      if (col(row, 'clicks') === '0') {
        expect(col(row, 'cvr')).toBe('');
        expect(col(row, 'cpc')).toBe('');
        empty++;
      } else {
        // Money metrics have 6 decimals like money measures, however the double rounded.
        expect(col(row, 'cpc')).toMatch(/^\d+\.\d{6}$/);
        expectRatio(
          Number(col(row, 'cpc')),
          parseMicros(col(row, 'cost')),
          BigInt(col(row, 'clicks')) * MICROS,
          1n,
          'cpc in CSV',
        );
      }
      if (col(row, 'impressions') === '0') expect(col(row, 'ctr')).toBe('');
    }
    expect(empty).toBeGreaterThan(0);
  });
});

/** Exact ratio num/den × scale vs a reported double rounded to 6 decimals. */
function expectRatio(actual: unknown, num: bigint, den: bigint, scale: bigint, what: string): void {
  if (den === 0n) {
    expect(actual, `${what} with a zero denominator`).toBeNull();
    return;
  }
  expect(typeof actual, what).toBe('number');
  // The exact value in micros (×1e6), rounded to nearest: adpipe rounds to 6 decimals.
  const scaled = divRound(num * scale * MICROS, den, 'half-up');
  const got = Math.round((actual as number) * 1e6);
  expect(Math.abs(got - Number(scaled)), `${what}: ${actual} vs ${num}×${scale}/${den}`).toBeLessThanOrEqual(
    1,
  );
}

describe('--metrics and --by', () => {
  const METRICS: Record<string, Array<[string, string, string, bigint]>> = {
    ad: [
      ['ctr', 'clicks', 'impressions', 1n],
      ['cvr', 'conversions', 'clicks', 1n],
      ['ecpm', 'revenue', 'impressions', 1000n],
      ['cpc', 'cost', 'clicks', 1n],
      ['cpa', 'cost', 'conversions', 1n],
    ],
    ad_request: [
      ['fill_rate', 'responses', 'requests', 1n],
      ['passback_rate', 'passbacks', 'requests', 1n],
    ],
    demand: [
      ['fill_rate', 'responses', 'requests', 1n],
      ['passback_rate', 'passbacks', 'requests', 1n],
      ['ctr', 'clicks', 'impressions', 1n],
      ['ecpm', 'revenue', 'impressions', 1000n],
      ['cpc', 'cost', 'clicks', 1n],
    ],
    media: [
      ['ctr', 'clicks', 'impressions', 1n],
      ['ecpm', 'gross_revenue', 'impressions', 1000n],
    ],
    campaign: [
      ['ctr', 'clicks', 'impressions', 1n],
      ['cvr', 'conversions', 'clicks', 1n],
      ['ecpm', 'revenue', 'impressions', 1000n],
      ['cpc', 'cost', 'clicks', 1n],
      ['cpa', 'cost', 'conversions', 1n],
      ['roas', 'conversion_value', 'cost', 1n],
    ],
  };
  const units = (v: unknown, name: string) => (MONEY.has(name) ? parseMicros(String(v)) : BigInt(Number(v)));

  it.each(Object.keys(METRICS))(
    '%s: each derived metric is the ratio of the row’s additive totals',
    async (name) => {
      await withWarehouse(data, async (wh) => {
        for (const grain of ['day', 'total'] as const) {
          const res = await runReport(wh, { report: name, metrics: true, grain, tz: 'Asia/Kolkata' });
          expect(res.columns.filter((c) => c.kind === 'metric').map((c) => c.name)).toEqual(
            METRICS[name]!.map((m) => m[0]),
          );
          let nulls = 0;
          for (const row of res.rows) {
            for (const [metric, num, den, scale] of METRICS[name]!) {
              const d = units(row[den], den);
              const n = units(row[num], num);
              // Money over a count is money per unit: micros / count, shown in units.
              const [nn, dd] = MONEY.has(num) && !MONEY.has(den) ? [n, d * MICROS] : [n, d];
              expectRatio(row[metric], nn, dd, scale, `${name} ${metric}`);
              if (d === 0n) nulls++;
            }
          }
          if (grain === 'day') expect(nulls).toBeGreaterThan(0);
        }
      });
    },
  );

  it.each(
    SPECS.flatMap((s) =>
      [...s.dims.slice(0, 2), 'country', ...(s.all.length ? [s.all[0]!] : [])].map(
        (by) => [s.name, by] as const,
      ),
    ),
  )('%s --by %s equals the sum of the finer rows and the oracle', async (name, by) => {
    const s = spec(name);
    await withWarehouse(data, async (wh) => {
      const tz = 'America/New_York';
      const fine = await runReport(wh, { report: name, tz, by: [...new Set([...s.dims, by])] });
      const coarse = await runReport(wh, { report: name, tz, by: [by] });
      const additive = s.measures.map((m) => m.name);
      const sums = new Map<string, bigint[]>();
      for (const row of fine.rows) {
        // ALL rows repeat the others; the finer grouping's sums use real values only.
        if (s.all.some((d) => d !== by && row[d] === 'ALL')) continue;
        if (row[by] === 'ALL') continue;
        const k = `${row.date}|${row[by]}`;
        const acc = sums.get(k) ?? additive.map(() => 0n);
        additive.forEach((m, i) => {
          acc[i]! += units(row[m], m);
        });
        sums.set(k, acc);
      }
      const got = new Map<string, bigint[]>();
      for (const row of coarse.rows) {
        if (row[by] === 'ALL') continue;
        got.set(
          `${row.date}|${row[by]}`,
          additive.map((m) => units(row[m], m)),
        );
      }
      expect(got.size).toBeGreaterThan(3);
      expect(got).toEqual(sums);
      expect((await runReport(wh, { report: name, tz, by: [by] })).rows.length).toBe(coarse.rows.length);
      const lines = coarse.rows.map((r) => coarse.columns.map((c) => String(r[c.name])).join('|')).sort();
      expect(lines).toEqual(expectedReport(s, oracle.events, META, { tz, by: [by] }));
    });
  });
});
