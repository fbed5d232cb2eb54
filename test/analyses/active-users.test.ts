// DAU/WAU/MAU around New York's spring DST change (2025-03-09, UTC−5 → UTC−4): events near local
// midnight land on other local dates than their UTC dates.
import { beforeAll, describe, expect, it } from 'vitest';
import { analyze, lakeOf } from './lake.js';

let dataDir: string;
beforeAll(async () => {
  dataDir = await lakeOf('an-active', [
    { user_id: 'u4', ts: '2025-02-20T15:00:00Z', type: 'impression', country: 'KR' }, // local 02-20
    { user_id: 'u5', ts: '2025-03-05T12:00:00Z', type: 'impression', country: 'US' }, // local 03-05
    { user_id: 'u1', ts: '2025-03-09T04:30:00Z', type: 'impression', country: 'KR' }, // local 03-08 23:30 EST
    { user_id: 'u4', ts: '2025-03-09T16:00:00Z', type: 'click', country: 'KR' }, // local 03-09 12:00 EDT
    { user_id: 'u2', ts: '2025-03-10T03:30:00Z', type: 'impression', country: 'US' }, // local 03-09 23:30 EDT
    { user_id: 'u3', ts: '2025-03-10T04:30:00Z', type: 'impression', country: 'US' }, // local 03-10 00:30 EDT
    { user_id: 'u1', ts: '2025-03-10T12:00:00Z', type: 'impression', country: 'KR' }, // local 03-10
    { ts: '2025-03-09T12:00:00Z', type: 'impression' }, // no user: left out, counted
    { ts: '2025-03-20T12:00:00Z', type: 'impression' }, // no user, outside the range
  ]);
});

const range = { from: '2025-03-08', to: '2025-03-10', tz: 'America/New_York' };

describe('active-users', () => {
  it('counts local-date DAU, rolling WAU and MAU, stickiness and new users across DST', async () => {
    const r = await analyze(dataDir, 'active-users', range);
    expect(r.columns.map((c) => c.name)).toEqual(['date', 'dau', 'wau', 'mau', 'stickiness', 'new_users']);
    expect(r.rows).toEqual([
      { date: '2025-03-08', dau: 1, wau: 2, mau: 3, stickiness: '0.333333', new_users: 1 },
      { date: '2025-03-09', dau: 2, wau: 4, mau: 4, stickiness: '0.500000', new_users: 1 },
      { date: '2025-03-10', dau: 2, wau: 5, mau: 5, stickiness: '0.400000', new_users: 1 },
    ]);
    expect(r.meta).toMatchObject({ ...range, events_without_user: 1 });
  });

  it('uses UTC dates in UTC', async () => {
    const r = await analyze(dataDir, 'active-users', { ...range, tz: 'UTC' });
    // UTC: u1 on 03-09 and 03-10, u4 on 03-09, u2 and u3 on 03-10.
    expect(r.rows.map((x) => [x.date, x.dau, x.new_users])).toEqual([
      ['2025-03-08', 0, 0],
      ['2025-03-09', 2, 1],
      ['2025-03-10', 3, 2],
    ]);
  });

  it('breaks down by country with a leading column', async () => {
    const r = await analyze(dataDir, 'active-users', { ...range, by: 'country' });
    expect(r.columns[0]!.name).toBe('country');
    const row = (x: (typeof r.rows)[number]) => [
      x.country,
      x.date,
      x.dau,
      x.wau,
      x.mau,
      x.stickiness,
      x.new_users,
    ];
    expect(r.rows.map(row)).toEqual([
      ['KR', '2025-03-08', 1, 1, 2, '0.500000', 1],
      ['KR', '2025-03-09', 1, 2, 2, '0.500000', 0],
      ['KR', '2025-03-10', 1, 2, 2, '0.500000', 0],
      ['US', '2025-03-08', 0, 1, 1, '0.000000', 0],
      ['US', '2025-03-09', 1, 2, 2, '0.500000', 1],
      ['US', '2025-03-10', 1, 3, 3, '0.333333', 1],
    ]);
  });

  it('rejects a parameter of another analysis and a bad dimension', async () => {
    await expect(analyze(dataDir, 'active-users', { ...range, gap: '30m' })).rejects.toThrow(
      /gap: not a parameter/,
    );
    await expect(analyze(dataDir, 'active-users', { ...range, by: 'os' })).rejects.toThrow(
      /invalid parameter by/,
    );
  });

  it('defaults the range to the dates with user events, never crossing a given date', async () => {
    const r = await analyze(dataDir, 'active-users', { tz: 'America/New_York' });
    expect(r.meta).toMatchObject({ from: '2025-02-20', to: '2025-03-10' });
    expect(r.rows).toHaveLength(19);
    const after = await analyze(dataDir, 'active-users', { tz: 'UTC', from: '2025-04-01' });
    expect(after.rows).toEqual([
      { date: '2025-04-01', dau: 0, wau: 0, mau: 5, stickiness: '0.000000', new_users: 0 }, // 03-03 to 04-01
    ]);
    const before = await analyze(dataDir, 'active-users', { tz: 'UTC', to: '2025-01-01' });
    expect(before.meta).toMatchObject({ from: '2025-01-01', to: '2025-01-01' });
  });

  it('runs on an empty lake (today, zeros) and rejects bad dates and zones', async () => {
    const empty = await lakeOf('an-empty', []);
    const r = await analyze(empty, 'active-users', { tz: 'Asia/Seoul' });
    expect(r.rows).toEqual([{ date: r.meta.from, dau: 0, wau: 0, mau: 0, stickiness: null, new_users: 0 }]);
    await expect(analyze(dataDir, 'active-users', { tz: 'Mars/Olympus' })).rejects.toThrow(
      /invalid parameter tz/,
    );
    await expect(analyze(dataDir, 'active-users', { from: '2025-03-10', to: '2025-03-01' })).rejects.toThrow(
      /invalid parameter from: must not be after to/,
    );
    await expect(analyze(dataDir, 'active-users', { from: '2025-02-30' })).rejects.toThrow(
      /invalid parameter from/,
    );
  });
});
