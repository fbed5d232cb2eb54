// Finding 8: Segment batch calls of no known type were dropped without a word. They are rejected
// as segment.unknown_call, listed in `errors` at their position and dead-lettered; the calls beside
// them are kept.

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../collector/server.js';

let s: TestServer;
beforeAll(async () => {
  s = await startServer();
});
afterAll(() => s.stop());

const post = (route: string, body: string) =>
  fetch(`${s.url}/v1/${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

const ts = '2026-01-01T00:00:00.000Z';

describe('Segment calls the collector cannot map', () => {
  it('rejects batch calls of unknown type (or no object) by position and dead-letters them', async () => {
    const batch = [
      { type: 'track', event: 'Ad Clicked', messageId: 'k1', timestamp: ts },
      { type: 'trak', event: 'Ad Clicked', messageId: 'k2', timestamp: ts },
      { type: 'identify', userId: 'u1', timestamp: ts },
      { event: 'Ad Clicked', messageId: 'k3', timestamp: ts },
      'track',
      { type: 'page', messageId: 'k4', timestamp: ts },
    ];
    const res = await post('batch', JSON.stringify({ batch }));
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ success: true, accepted: 2, rejected: 3 });
    expect(body.errors.map((e: { index: number; code: string }) => [e.index, e.code])).toEqual([
      [1, 'segment.unknown_call'],
      [3, 'segment.unknown_call'],
      [4, 'segment.unknown_call'],
    ]);
    const dir = path.join(s.dataDir, 'deadletter');
    const dead = readdirSync(dir)
      .flatMap((f) => readFileSync(path.join(dir, f), 'utf8').split('\n').filter(Boolean))
      .map((l) => JSON.parse(l));
    expect(dead.map((d) => [d.source, d.index, d.code, JSON.parse(d.text)])).toEqual([
      ['segment', 1, 'segment.unknown_call', batch[1]],
      ['segment', 3, 'segment.unknown_call', batch[3]],
      ['segment', 4, 'segment.unknown_call', batch[4]],
    ]);
  });

  it('rejects a deep call without messageId (whose id is a hash of it) alone', async () => {
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    const res = await post(
      'batch',
      `{"batch":[{"type":"track","event":"Ad Clicked","timestamp":"${ts}","properties":{"p":${deep}}},` +
        `{"type":"track","event":"Ad Clicked","messageId":"k5","timestamp":"${ts}"}]}`,
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      accepted: 1,
      rejected: 1,
      errors: [{ index: 0, code: 'record.too_deep' }],
    });
  });
});
