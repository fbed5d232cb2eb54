// The activity tables folded in batch by batch equal the tables built from the whole lake at once,
// with late events that join two bursts, events without a user, and a compacted lake.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BURST_GAP_US, refreshActivity, SESSION_GAP_US } from '../../src/analyses/activity.js';
import { compactLake } from '../../src/lake/compact.js';
import { loadUnits } from '../../src/loader/loader.js';
import { discoverInputs } from '../../src/sources/files/discover.js';
import { Warehouse } from '../../src/warehouse/warehouse.js';
import { makeTempDir } from '../helpers/tmp.js';
import { analyze, type TestEvent } from './lake.js';

const ev = (id: string, user: string | undefined, ts: string, extra: Partial<TestEvent> = {}) => ({
  event_id: id,
  ...(user ? { user_id: user } : {}),
  ts,
  type: 'impression',
  experiment: 'x',
  variant: 'A',
  ...extra,
});

const BATCHES = [
  [
    ev('a1', 'u1', '2025-01-06T10:00:00Z'),
    ev('a2', 'u1', '2025-01-06T10:00:50Z'),
    ev('a3', 'u1', '2025-01-06T10:02:30Z', { type: 'conversion', revenue: 12.5 }),
    ev('a4', 'u2', '2025-01-06T23:59:30Z'),
    ev('a5', undefined, '2025-01-06T11:00:00Z'),
  ],
  [
    ev('b1', 'u2', '2025-01-07T00:00:20Z', { variant: 'B' }),
    ev('b2', 'u3', '2025-01-07T08:00:00Z', { revenue: 0.25 }),
    ev('b3', 'u1', '2025-01-06T10:14:59Z'),
  ],
  // Late: b4 sits between a2 and a3 (each within a minute), so u1's first two bursts become one.
  [
    ev('c1', 'u1', '2025-01-06T10:01:40Z'),
    ev('c2', 'u4', '2025-01-05T12:00:00Z'),
    ev('c3', undefined, '2025-01-07T09:00:00Z'),
  ],
  [
    ev('d1', 'u3', '2025-01-07T08:00:30Z', { type: 'conversion', revenue: 3 }),
    ev('d2', 'u1', '2025-01-06T10:15:10Z'),
  ],
];

async function ingest(wh: Warehouse, dir: string, name: string, events: readonly object[]) {
  const file = path.join(dir, `${name}.jsonl`);
  writeFileSync(file, `${events.map((e) => JSON.stringify(e)).join('\n')}\n`);
  const summary = await loadUnits(wh, await discoverInputs([file]));
  expect(summary.rejected).toBe(0);
}

/** The tables' content, with repeated quarter keys summed. */
async function tables(wh: Warehouse) {
  const rows = (sql: string) => wh.all(`${sql} ORDER BY ALL`);
  return {
    touches: await rows('SELECT user_id, ts::VARCHAR AS ts, event_id, campaign_id FROM activity_touches'),
    conversions: await rows(
      'SELECT user_id, ts::VARCHAR AS ts, event_id, revenue::VARCHAR AS revenue FROM activity_conversions',
    ),
    quarters: await wh.all(
      `SELECT user_id, quarter::VARCHAR AS quarter, experiment, variant, sum(events)::VARCHAR AS events,
         sum(conversions)::VARCHAR AS conversions, sum(revenue)::VARCHAR AS revenue
       FROM activity_quarters GROUP BY ALL ORDER BY ALL`,
    ),
    bursts: await wh.all(
      `SELECT user_id, started::VARCHAR AS started, ended::VARCHAR AS ended, events::VARCHAR AS events
       FROM activity_runs WHERE gap_us = ${BURST_GAP_US} ORDER BY ALL`,
    ),
    sessions: await wh.all(
      `SELECT user_id, started::VARCHAR AS started, ended::VARCHAR AS ended, events::VARCHAR AS events
       FROM activity_runs WHERE gap_us = ${SESSION_GAP_US} ORDER BY ALL`,
    ),
  };
}

async function rebuilt(wh: Warehouse) {
  for (const t of [
    'activity_watermark',
    'activity_quarters',
    'activity_runs',
    'activity_touches',
    'activity_conversions',
  ])
    await wh.run(`DROP TABLE ${t}`);
  await refreshActivity(wh);
  return tables(wh);
}

describe('activity tables', () => {
  it('folded in batch by batch, late events and compaction included, equal a rebuild from the lake', async () => {
    const dataDir = makeTempDir('an-activity');
    const wh = await Warehouse.open(dataDir);
    try {
      for (const [i, batch] of BATCHES.entries()) {
        await ingest(wh, dataDir, `b${i}`, batch);
        await refreshActivity(wh);
        if (i === 2) await compactLake(wh);
      }
      const incremental = await tables(wh);
      expect(incremental.bursts).toEqual([
        { user_id: 'u1', started: '2025-01-06 10:00:00+00', ended: '2025-01-06 10:02:30+00', events: '4' },
        { user_id: 'u1', started: '2025-01-06 10:14:59+00', ended: '2025-01-06 10:15:10+00', events: '2' },
        { user_id: 'u2', started: '2025-01-06 23:59:30+00', ended: '2025-01-07 00:00:20+00', events: '2' },
        { user_id: 'u3', started: '2025-01-07 08:00:00+00', ended: '2025-01-07 08:00:30+00', events: '2' },
        { user_id: 'u4', started: '2025-01-05 12:00:00+00', ended: '2025-01-05 12:00:00+00', events: '1' },
      ]);
      expect(incremental.sessions).toEqual([
        { user_id: 'u1', started: '2025-01-06 10:00:00+00', ended: '2025-01-06 10:15:10+00', events: '6' },
        ...incremental.bursts.slice(2),
      ]);
      expect(incremental.conversions.map((c) => c.event_id)).toEqual(['a3', 'd1']);
      expect(incremental.touches).toHaveLength(9);
      expect(incremental.quarters).toContainEqual({
        user_id: 'u1',
        quarter: '2025-01-06 10:00:00+00',
        experiment: 'x',
        variant: 'A',
        events: '5',
        conversions: '1',
        revenue: '12.500000',
      });
      expect(incremental.quarters.filter((q) => q.user_id === null).map((q) => q.events)).toEqual(['1', '1']);
      expect(await rebuilt(wh)).toEqual(incremental);
      // Tables of another definition are rebuilt, whatever they hold.
      await wh.run('DELETE FROM activity_touches');
      await wh.run('UPDATE activity_watermark SET definition = definition + 1');
      await refreshActivity(wh);
      expect(await tables(wh)).toEqual(incremental);
      // Nothing new: a refresh changes nothing.
      await refreshActivity(wh);
      expect(await tables(wh)).toEqual(incremental);
    } finally {
      wh.close();
    }
  });

  it('read-only, the tables and the newer batches answer as the refreshed tables do', async () => {
    const dataDir = makeTempDir('an-activity-ro');
    const wh = await Warehouse.open(dataDir);
    try {
      await ingest(wh, dataDir, 'b0', BATCHES[0]!);
      await refreshActivity(wh);
      for (const [i, batch] of BATCHES.slice(1).entries()) await ingest(wh, dataDir, `b${i + 1}`, batch);
    } finally {
      wh.close();
    }
    const range = { from: '2025-01-05', to: '2025-01-07', tz: 'UTC' };
    // analyze() runs read-only first (the stale tables and three newer batches), then refreshed.
    const sessions = await analyze(dataDir, 'sessions', { ...range, gap: '1m' });
    expect(sessions.rows.map((r) => [r.date, r.sessions])).toEqual([
      ['2025-01-05', 1],
      ['2025-01-06', 3],
      ['2025-01-07', 1],
    ]);
    // The default gap: u1's two bursts are one session; from the stored sessions once refreshed.
    for (let i = 0; i < 2; i++) {
      const byDefault = await analyze(dataDir, 'sessions', range);
      expect(byDefault.rows.map((r) => [r.date, r.sessions, r.events_per_session])).toEqual([
        ['2025-01-05', 1, '1.000000'],
        ['2025-01-06', 2, '4.000000'],
        ['2025-01-07', 1, '2.000000'],
      ]);
    }
    expect(sessions.meta.events_without_user).toBe(2);
    const ab = await analyze(
      dataDir,
      'ab',
      { ...range, experiment: 'x' },
      {
        experiments: [{ name: 'x', variants: { A: 50, B: 50 }, control: 'A' }],
      },
    );
    expect(ab.rows.map((r) => [r.variant, r.users, r.converters])).toEqual([
      ['A', 4, 2],
      ['B', 1, 0],
    ]);
    await analyze(dataDir, 'active-users', range);
  });
});
