// A/B tests: the documented assignment (test vectors read from docs/analyses.md), its weights over
// 100k synthetic users, and `analyze ab` on two experiments of 10 000 users, one with a 55/45
// sample-ratio mismatch against 50/50 and one with 5 010/4 990.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { assignVariant, bucketOf } from '../../src/analyses/assign.js';
import { parseConfig } from '../../src/config.js';
import { analyze, lakeOf, type TestEvent } from './lake.js';
import { normalTwoSidedP, tTwoSidedP } from './normal.js';

const EXPERIMENTS = {
  experiments: [
    { name: 'skew', variants: { A: 50, B: 50 }, control: 'A' },
    { name: 'fair', variants: { A: 50, B: 50 }, control: 'A' },
  ],
};

describe('assignment', () => {
  const doc = readFileSync('docs/analyses.md', 'utf8');
  const table = doc.slice(doc.indexOf('Test vectors'), doc.indexOf('### Results'));
  const vectors = [
    ...table.matchAll(
      /^\| `([^`]+)` \| `([^`]+)` \| ([^|]+) \| `([0-9a-f]{16})` \| (\d+) \| (\d+) \| (\S+) \|$/gm,
    ),
  ];

  it('reproduces every test vector of docs/analyses.md', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(8);
    for (const [, experiment, user, weights, hex, x, bucket, variant] of vectors) {
      const variants = Object.fromEntries(
        weights!.split(',').map((w) => {
          const [name, weight] = w.split(':').map((s) => s.trim());
          return [name!, Number(weight)];
        }),
      );
      const total = Object.values(variants).reduce((a, b) => a + b, 0);
      const digest = createHash('sha256')
        .update(Buffer.from(`${experiment}\u0000${user}`, 'utf8'))
        .digest();
      expect(digest.subarray(0, 8).toString('hex')).toBe(hex);
      expect(digest.readBigUInt64BE(0).toString()).toBe(x);
      expect(bucketOf(experiment!, user!, total)).toBe(Number(bucket));
      const e = { name: experiment!, variants, control: Object.keys(variants)[0]! };
      expect(assignVariant(e, user!)).toBe(variant);
    }
  });

  it('respects the weights within ±1 % over 100 000 users', () => {
    const splits: Array<Record<string, number>> = [
      { A: 50, B: 50 },
      { control: 70, short: 20, none: 10 },
    ];
    for (const variants of splits) {
      const e = { name: 'weights', variants, control: Object.keys(variants)[0]! };
      const seen: Record<string, number> = {};
      for (let i = 0; i < 100_000; i++) {
        const v = assignVariant(e, `synthetic-${i}`);
        seen[v] = (seen[v] ?? 0) + 1;
      }
      for (const [v, w] of Object.entries(variants))
        expect(Math.abs(seen[v]! / 100_000 - w / 100)).toBeLessThan(0.01);
    }
  });

  it('validates experiments in the config', () => {
    const bad = (e: object) => () => parseConfig({ experiments: [e] });
    expect(bad({ name: 'x', variants: { A: 1, B: 1 }, control: 'C' })).toThrow(
      /control must be one of the variants/,
    );
    expect(bad({ name: 'x', variants: { A: 1.5, B: 1 }, control: 'A' })).toThrow(
      /ADP_ERR_CONFIG|invalid configuration/,
    );
    expect(bad({ name: 'x', variants: { A: 0, B: 1 }, control: 'A' })).toThrow(/invalid configuration/);
    expect(bad({ name: 'x', variants: { A: 1 }, control: 'A' })).toThrow(/at least two variants/);
    expect(bad({ name: 'x', variants: { '1': 1, '2': 1 }, control: '1' })).toThrow(/plain integers/);
  });
});

/** n users of a variant, the first `converters` of them converting with `revenue` each. */
function users(
  experiment: string,
  variant: string,
  n: number,
  converters: number,
  revenue: string,
): TestEvent[] {
  return Array.from({ length: n }, (_, i) => {
    const base = { user_id: `${experiment}-${variant}-${i}`, experiment, variant };
    const seen: TestEvent = { ...base, type: 'impression', ts: '2025-05-01T10:00:00Z' };
    return i < converters
      ? [seen, { ...base, type: 'conversion', ts: '2025-05-01T11:00:00Z', revenue }]
      : [seen];
  }).flat();
}

describe('analyze ab', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await lakeOf('an-ab', [
      ...users('skew', 'A', 5500, 1100, '2.5'),
      ...users('skew', 'B', 4500, 1125, '3'),
      ...users('fair', 'A', 5010, 1002, '1'),
      ...users('fair', 'B', 4990, 998, '1'),
    ]);
  }, 60_000);

  it('compares each variant to the control and flags a 55/45 split', async () => {
    const r = await analyze(dataDir, 'ab', { experiment: 'skew' }, EXPERIMENTS);
    expect(r.columns.map((c) => c.name).join(',')).toBe(
      'variant,users,converters,conversion_rate,revenue_per_user,lift,p_value,ci_low,ci_high',
    );
    expect(r.rows[0]).toEqual({
      variant: 'A',
      users: 5500,
      converters: 1100,
      conversion_rate: '0.200000',
      revenue_per_user: '0.500000',
      lift: null,
      p_value: null,
      ci_low: null,
      ci_high: null,
    });
    expect(r.rows[1]).toMatchObject({
      variant: 'B',
      users: 4500,
      converters: 1125,
      conversion_rate: '0.250000',
      revenue_per_user: '0.750000',
      lift: 0.25,
    });

    // The formulas, evaluated here.
    const pooled = 2225 / 10_000;
    const z = (0.25 - 0.2) / Math.sqrt(pooled * (1 - pooled) * (1 / 5500 + 1 / 4500));
    const half = 1.959963984540054 * Math.sqrt((0.2 * 0.8) / 5500 + (0.25 * 0.75) / 4500);
    const [conversion] = r.meta.conversion_tests as Array<Record<string, number>>;
    expect(Math.abs(conversion!.z! - z)).toBeLessThan(1e-9);
    expect(Math.abs(conversion!.p! - normalTwoSidedP(z))).toBeLessThan(1e-6);
    expect(Math.abs(conversion!.ci_low! - (0.05 - half))).toBeLessThan(1e-6);
    expect(r.rows[1]!.ci_high).toBeCloseTo(0.05 + half, 6);

    // Welch on per-user revenue: A is 2.5 for 1 100 users and 0 for 4 400, B 3 for 1 125 and 0 for 3 375.
    const va = 5500 / 5499 / 5500;
    const vb = (1125 * 2.25 ** 2 + 3375 * 0.75 ** 2) / 4499 / 4500;
    const t = 0.25 / Math.sqrt(va + vb);
    const df = (va + vb) ** 2 / (va ** 2 / 5499 + vb ** 2 / 4499);
    const [revenue] = r.meta.revenue_tests as Array<Record<string, number>>;
    expect(Math.abs(revenue!.t! - t)).toBeLessThan(1e-6);
    expect(Math.abs(revenue!.df! - df)).toBeLessThan(1e-6);
    expect(Math.abs(revenue!.p! - tTwoSidedP(t, df))).toBeLessThan(1e-6);

    expect(r.meta).toMatchObject({ experiment: 'skew', control: 'A', srm: true, srm_chi2: 100 });
    expect(r.meta.srm_p_value as number).toBeLessThan(0.001);
    expect(r.meta.warnings).toHaveLength(1);
    expect(r.meta.warnings[0]).toMatch(/sample ratio mismatch/);
  });

  it('does not flag 5 010 / 4 990', async () => {
    const r = await analyze(dataDir, 'ab', { experiment: 'fair' }, EXPERIMENTS);
    expect(r.rows.map((x) => x.users)).toEqual([5010, 4990]);
    expect(r.meta.srm).toBe(false);
    expect(Math.abs((r.meta.srm_p_value as number) - normalTwoSidedP(0.2))).toBeLessThan(1e-6);
    expect(r.meta.warnings).toEqual([]);
  });

  it('refuses an experiment the config does not declare', async () => {
    await expect(analyze(dataDir, 'ab', { experiment: 'nope' }, EXPERIMENTS)).rejects.toMatchObject({
      code: 'ADP_ERR_ANALYSIS_UNKNOWN_EXPERIMENT',
    });
  });
});
