// Browser hits validated in groups: the same events the per-request path made (server-filled id,
// time, address and agent; `sig` and `key` left out), each hit's rejection at its own index, and the
// ids the server made flagged so the event loop neither looks them up nor remembers them.

import { describe, expect, it } from 'vitest';
import { HIT_SEPARATOR, type HitGroup, validateHits } from '../../src/server/collector/hits.js';
import { ValidatorPool } from '../../src/server/collector/validator-pool.js';

const at = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
const group = (hits: Array<[query: string, ip: string, ua: string]>): HitGroup => ({
  rows: hits.flatMap(([q, ip, ua]) => [q, ip, ua, String(at)]).join(HIT_SEPARATOR),
  type: 'impression',
  source: 'pixel',
  receivedAt: '2026-01-02T03:04:06.000Z',
});
const lines = (spool: Uint8Array) =>
  Buffer.from(spool)
    .toString('utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, string>);

const HITS: Array<[string, string, string]> = [
  ['media_id=m1&revenue=0.0015&key=k-1&sig=abc', '10.0.0.1', 'UA/1 "quoted"'],
  ['media_id=m1&revenue=-3', '10.0.0.2', ''],
  [
    'event_id=px-1&ts=2025-06-01T00:00:00Z&ip=192.0.2.9&user_agent=Given&media_id=m%20two',
    '10.0.0.3',
    'UA/3',
  ],
  ['event_id=px-1&media_id=again', '10.0.0.4', ''],
  ['', '', ''],
];

describe('validateHits', () => {
  it('makes what the server fills, keeps what the hit gives, and rejects per hit', () => {
    const batch = validateHits(group(HITS));
    const [made, given, bare] = lines(batch.spool);
    expect(made).toMatchObject({
      type: 'impression',
      media_id: 'm1',
      revenue: '0.001500',
      ts: '2026-01-02T03:04:05.678Z',
      ip: '10.0.0.1',
      user_agent: 'UA/1 "quoted"',
    });
    expect(made).not.toHaveProperty('key');
    expect(made).not.toHaveProperty('sig');
    expect(made!.event_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(given).toMatchObject({
      event_id: 'px-1',
      ts: '2025-06-01T00:00:00.000Z',
      ip: '192.0.2.9',
      user_agent: 'Given',
      media_id: 'm two',
    });
    // No address and no agent: none made up.
    expect(bare).not.toHaveProperty('ip');
    expect(bare).not.toHaveProperty('user_agent');
    expect(batch.errors).toEqual([{ index: 1, code: 'money.negative', reason: expect.any(String) }]);
    // A dead letter's index is the position in its request, and each hit is a request of its own.
    expect(JSON.parse(batch.dead)).toMatchObject({ source: 'pixel', index: 0, code: 'money.negative' });
    // The repeated client id is dropped within the group; only server-made ids are fresh.
    expect(batch.repeats).toBe(1);
    expect(batch.ids.slice(batch.idEnds[0], batch.idEnds[1])).toBe('px-1');
    expect([...batch.fresh!]).toEqual([1, 0, 1]);
    expect(batch.live).toEqual({ events: 3, impressions: 3, clicks: 0, revenueMicros: 1500n });
  });

  it('gives the same answers in a validator worker', async () => {
    // Ids given, so that both runs make the same events.
    const hits = [
      ...HITS.slice(2, 4),
      ['event_id=px-9&revenue=-1', '10.0.0.5', ''] as [string, string, string],
    ];
    const pool = new ValidatorPool(1);
    try {
      const pooled = await pool.validateHits(group(hits));
      const inline = validateHits(group(hits));
      expect(inline.errors).toHaveLength(1);
      expect(pooled).toEqual(inline);
    } finally {
      await pool.close();
    }
  });
});
