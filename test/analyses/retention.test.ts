// Weekly cohorts in Europe/Berlin across its DST change (2025-03-30): r1's first event,
// 2025-03-30T22:30Z, is Monday 00:30 local, so r1 belongs to the week of 03-31, not of 03-24.
import { beforeAll, describe, expect, it } from 'vitest';
import { analyze, lakeOf } from './lake.js';

let dataDir: string;
beforeAll(async () => {
  dataDir = await lakeOf('an-retention', [
    { user_id: 'r2', type: 'impression', ts: '2025-03-25T10:00:00Z' },
    { user_id: 'r3', type: 'impression', ts: '2025-03-26T10:00:00Z' },
    { user_id: 'r1', type: 'impression', ts: '2025-03-30T22:30:00Z' },
    { user_id: 'r2', type: 'click', ts: '2025-03-30T22:30:00Z' }, // week 1 of r2's cohort
    { user_id: 'r1', type: 'impression', ts: '2025-04-08T10:00:00Z' }, // week 1 of r1's cohort
    { user_id: 'r1', type: 'impression', ts: '2025-04-22T10:00:00Z' }, // after `to`
  ]);
});

describe('retention', () => {
  it('shares of each local ISO-week cohort active in the weeks after; weeks after `to` are empty', async () => {
    const r = await analyze(dataDir, 'retention', {
      from: '2025-03-24',
      to: '2025-04-13',
      tz: 'Europe/Berlin',
    });
    expect(r.columns.map((c) => c.name).join(',')).toBe(
      'cohort_week,users,week_0,week_1,week_2,week_3,week_4,week_5,week_6,week_7,week_8',
    );
    const empty = { week_3: null, week_4: null, week_5: null, week_6: null, week_7: null, week_8: null };
    expect(r.rows).toEqual([
      {
        cohort_week: '2025-03-24',
        users: 2,
        week_0: '1.000000',
        week_1: '0.500000',
        week_2: '0.000000',
        ...empty,
      },
      { cohort_week: '2025-03-31', users: 1, week_0: '1.000000', week_1: '1.000000', week_2: null, ...empty },
    ]);
  });

  it('puts r1 in the week of 03-24 in UTC', async () => {
    const r = await analyze(dataDir, 'retention', { from: '2025-03-24', to: '2025-04-13', tz: 'UTC' });
    expect(r.rows.map((x) => [x.cohort_week, x.users])).toEqual([['2025-03-24', 3]]);
  });
});
