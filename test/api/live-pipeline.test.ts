import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveCounters } from '../../src/stream/live-counters.js';
import { buildFixture, startServer, type TestServer } from './fixture.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer(await buildFixture('api-live'));
});
afterAll(() => server.close());

/** Reads SSE events off a real HTTP connection until `count` have arrived. */
async function readEvents(url: string, count: number): Promise<Array<{ event: string; data: unknown }>> {
  const controller = new AbortController();
  const res = await fetch(url, { signal: controller.signal });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: Array<{ event: string; data: unknown }> = [];
  let buffer = '';
  while (events.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
      const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? 'null');
      events.push({ event, data });
      end = buffer.indexOf('\n\n');
    }
  }
  controller.abort();
  return events;
}

describe('GET /v1/live', () => {
  it('sends a snapshot of the window, then a tick per second, revenue exact', async () => {
    const base = await server.app.listen({ port: 0, host: '127.0.0.1' });
    const t = Date.now() - 2000;
    // Two impressions of 0.100001 and 0.200002, and a click.
    liveCounters.add({ events: 3, impressions: 2, clicks: 1, revenueMicros: 300_003n }, t);
    const events = await readEvents(`${base}/v1/live?seconds=10`, 2);
    expect(events[0]!.event).toBe('snapshot');
    const snapshot = events[0]!.data as Array<{
      t: number;
      events: number;
      impressions: number;
      revenue: string;
    }>;
    expect(snapshot).toHaveLength(10);
    expect(snapshot.find((s) => s.t === Math.floor(t / 1000))).toMatchObject({
      events: 3,
      impressions: 2,
      clicks: 1,
      revenue: '0.300003',
    });
    expect(events[1]!.event).toBe('tick');
    expect((events[1]!.data as { t: number }).t).toBeGreaterThan(snapshot.at(-1)!.t - 1);
  });

  it('rejects a window beyond 15 minutes', async () => {
    const r = await server.app.inject('/v1/live?seconds=901');
    expect(r.statusCode).toBe(400);
    expect(r.json().error.message).toContain('seconds');
  });
});

describe('GET /v1/pipeline and /v1/deadletter', () => {
  it('counts files, events and rejections by reason', async () => {
    const p = (await server.app.inject('/v1/pipeline')).json();
    expect(p.files).toEqual({ files: 1, records: 473, accepted: 471, duplicates: 0, rejected: 2 });
    expect(p.batches).toHaveLength(1);
    expect(p.batches[0]).toMatchObject({
      batch_id: 1,
      accepted: 471,
      rejected: 2,
      max_ts: '2024-05-02T23:41:00Z',
    });
    expect(p.rejections.map((r: { code: string; count: number }) => [r.code, r.count])).toEqual([
      ['money.negative', 1],
      ['type.invalid', 1],
    ]);
    expect(p.lag.newest_event).toBe('2024-05-02T23:41:00Z');
    expect(p.lag.newest_event_age_s).toBeGreaterThan(0);
  });

  it('samples dead letters by code, with the original text and the reason', async () => {
    const r = (await server.app.inject('/v1/deadletter?code=money.negative')).json();
    expect(r.records).toHaveLength(1);
    expect(r.records[0]).toMatchObject({ code: 'money.negative', field: 'revenue', batch_id: 1 });
    expect(JSON.parse(r.records[0].text).event_id).toBe('bad1');
    const none = (
      await server.app.inject(`/v1/deadletter?code=${encodeURIComponent("x' OR '1'='1")}`)
    ).json();
    expect(none.records).toEqual([]);
    expect((await server.app.inject('/v1/deadletter?limit=1')).json().records).toHaveLength(1);
    expect((await server.app.inject('/v1/deadletter?limit=0')).statusCode).toBe(400);
  });
});
