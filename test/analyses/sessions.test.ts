// Sessions end after more than --gap of inactivity: a gap of exactly 30m continues the session,
// 30m + 1 ms starts a new one (the seed's `> 1800`).
import { beforeAll, describe, expect, it } from 'vitest';
import { analyze, lakeOf } from './lake.js';

let dataDir: string;
beforeAll(async () => {
  dataDir = await lakeOf('an-sessions', [
    { user_id: 'u1', ts: '2025-01-06T10:00:00.000Z', type: 'impression' },
    { user_id: 'u1', ts: '2025-01-06T10:30:00.000Z', type: 'click' }, // exactly 30m later: same session
    { user_id: 'u1', ts: '2025-01-06T11:00:00.001Z', type: 'impression' }, // 30m + 1 ms: a new session
    { user_id: 'u1', ts: '2025-01-06T11:10:00.001Z', type: 'impression' },
    { user_id: 'u2', ts: '2025-01-06T23:50:00.000Z', type: 'impression' }, // crosses midnight, dated 01-06
    { user_id: 'u2', ts: '2025-01-07T00:10:00.000Z', type: 'impression' },
    { user_id: 'u3', ts: '2025-01-07T08:00:00.000Z', type: 'impression' },
    { ts: '2025-01-07T08:00:00.000Z', type: 'impression' },
  ]);
});

const range = { from: '2025-01-05', to: '2025-01-07', tz: 'UTC' };

describe('sessions', () => {
  it('splits at more than 30 minutes and dates a session by its first event', async () => {
    const r = await analyze(dataDir, 'sessions', range);
    expect(r.columns.map((c) => c.name)).toEqual([
      'date',
      'sessions',
      'users',
      'avg_session_seconds',
      'events_per_session',
    ]);
    expect(r.rows).toEqual([
      { date: '2025-01-05', sessions: 0, users: 0, avg_session_seconds: null, events_per_session: null },
      // u1: 1800 s and 600 s, u2: 1200 s
      {
        date: '2025-01-06',
        sessions: 3,
        users: 2,
        avg_session_seconds: '1200.000000',
        events_per_session: '2.000000',
      },
      {
        date: '2025-01-07',
        sessions: 1,
        users: 1,
        avg_session_seconds: '0.000000',
        events_per_session: '1.000000',
      },
    ]);
    expect(r.meta).toMatchObject({ gap_seconds: 1800, events_without_user: 1 });
  });

  it('takes the gap from --gap (31m joins u1 into one session of 4200.001 s)', async () => {
    const r = await analyze(dataDir, 'sessions', { ...range, gap: '31m' });
    expect(r.rows[1]).toEqual({
      date: '2025-01-06',
      sessions: 2,
      users: 2,
      avg_session_seconds: '2700.000500',
      events_per_session: '3.000000',
    });
    const sameAs30m = await analyze(dataDir, 'sessions', { ...range, gap: '1800s' });
    expect(sameAs30m.rows[1]!.sessions).toBe(3);
    const oneHour = await analyze(dataDir, 'sessions', { ...range, gap: '1h' });
    expect(oneHour.rows[1]!.sessions).toBe(2);
  });

  it('rejects a malformed gap', async () => {
    await expect(analyze(dataDir, 'sessions', { ...range, gap: '30 minutes' })).rejects.toThrow(
      /invalid parameter gap/,
    );
  });
});
