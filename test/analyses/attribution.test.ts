// Attribution on a worked example. Conversion A (revenue 10.000001) follows touches c1 (3 h
// before), c2 (2 h) and c3 (1 h); conversion B (revenue 3) has one touch exactly 24 h before it (in
// the lookback) and one 1 ms earlier (out); conversion C (2.5) has no touch.
import { beforeAll, describe, expect, it } from 'vitest';
import { micros } from '../helpers/money.js';
import { analyze, lakeOf } from './lake.js';

let dataDir: string;
beforeAll(async () => {
  dataDir = await lakeOf('an-attribution', [
    { user_id: 'a', type: 'impression', ts: '2025-04-01T10:00:00Z', campaign_id: 'c1' },
    { user_id: 'a', type: 'click', ts: '2025-04-01T11:00:00Z', campaign_id: 'c2' },
    { user_id: 'a', type: 'impression', ts: '2025-04-01T12:00:00Z', campaign_id: 'c3' },
    { user_id: 'a', type: 'conversion', ts: '2025-04-01T13:00:00Z', campaign_id: 'c3', revenue: '10.000001' },
    { user_id: 'b', type: 'impression', ts: '2025-03-31T13:59:59.999Z', campaign_id: 'c9' }, // 24 h + 1 ms before
    { user_id: 'b', type: 'impression', ts: '2025-03-31T14:00:00Z', campaign_id: 'c8' }, // exactly 24 h before
    { user_id: 'b', type: 'conversion', ts: '2025-04-01T14:00:00Z', revenue: '3' },
    { user_id: 'b', type: 'click', ts: '2025-04-01T14:00:00.001Z', campaign_id: 'c6' }, // after it
    { user_id: 'z', type: 'click', ts: '2025-04-01T13:30:00Z', campaign_id: 'c7' }, // another user's
    { user_id: 'c', type: 'conversion', ts: '2025-04-01T15:00:00Z', revenue: '2.5' },
  ]);
});

const range = { from: '2025-04-01', to: '2025-04-01', tz: 'UTC' };
type Credits = Array<[string, string, string]>;
const run = async (params: Record<string, string>): Promise<Credits> => {
  const r = await analyze(dataDir, 'attribution', { ...range, ...params });
  expect(r.columns.map((c) => c.name)).toEqual(['campaign_id', 'conversions', 'revenue']);
  return r.rows.map((x) => [x.campaign_id, x.conversions, x.revenue] as [string, string, string]);
};
const B_AND_C: Credits = [
  ['(none)', '1.000000', '2.500000'],
  ['c8', '1.000000', '3.000000'],
];
const withBC = (aCredits: Credits): Credits => [B_AND_C[0]!, ...aCredits, B_AND_C[1]!];

describe('attribution', () => {
  it('first and last touch give all credit to one touch', async () => {
    expect(await run({ model: 'first' })).toEqual(withBC([['c1', '1.000000', '10.000001']]));
    expect(await run({ model: 'last' })).toEqual(withBC([['c3', '1.000000', '10.000001']]));
  });

  it('linear shares equally; the micro-unit remainders go to the first of the equal largest shares', async () => {
    // 1/3 = 0.333333 ×3 leaves 0.000001 → c1; 10.000001/3 = 3.3333336… rounds to 3.333334 ×3,
    // 0.000001 too much → c1 gets 3.333333.
    expect(await run({ model: 'linear' })).toEqual(
      withBC([
        ['c1', '0.333334', '3.333333'],
        ['c2', '0.333333', '3.333334'],
        ['c3', '0.333333', '3.333334'],
      ]),
    );
  });

  it('position gives 40 % to each end and 20 % to the middle', async () => {
    // revenue: 4.0000004 → 4.000000, 2.0000002 → 2.000000, 4.000000; remainder 0.000001 → c1.
    expect(await run({ model: 'position' })).toEqual(
      withBC([
        ['c1', '0.400000', '4.000001'],
        ['c2', '0.200000', '2.000000'],
        ['c3', '0.400000', '4.000000'],
      ]),
    );
  });

  it('time-decay weighs 2^(−Δt / half-life)', async () => {
    // half-life 1 h: weights 1/8, 1/4, 1/2 → shares 1/7, 2/7, 4/7.
    expect(await run({ model: 'time-decay', half_life: '1h' })).toEqual(
      withBC([
        ['c1', '0.142857', '1.428572'],
        ['c2', '0.285714', '2.857143'],
        ['c3', '0.571429', '5.714286'],
      ]),
    );
  });

  it('every model credits exactly the conversions and their revenue', async () => {
    for (const model of ['first', 'last', 'linear', 'time-decay', 'position']) {
      const rows = await run({ model, half_life: '90s' });
      expect(
        rows.reduce((s, r) => s + micros(r[1]), 0n),
        model,
      ).toBe(3_000_000n);
      expect(
        rows.reduce((s, r) => s + micros(r[2]), 0n),
        model,
      ).toBe(15_500_001n);
    }
  });

  it('includes a touch exactly one lookback before, and none when the lookback is shorter', async () => {
    expect(await run({ model: 'last', lookback: '23h' })).toEqual([
      ['(none)', '2.000000', '5.500000'],
      ['c3', '1.000000', '10.000001'],
    ]);
    const r = await analyze(dataDir, 'attribution', { ...range, model: 'last' });
    expect(r.meta).toMatchObject({ model: 'last', lookback_seconds: 86_400, conversions: 3 });
  });

  it('rejects an unknown model', async () => {
    await expect(run({ model: 'data-driven' })).rejects.toThrow(/invalid parameter model/);
  });
});
