import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lakeCounts, startServer, type TestServer } from './server.js';

const ev = (i: number, type = 'impression', extra: Record<string, unknown> = {}) => ({
  event_id: `e-${i}`,
  type,
  ts: '2025-03-01T10:00:00Z',
  media_id: 'm1',
  revenue: '0.001',
  ...extra,
});
const ndjson = (recs: unknown[]) => recs.map((r) => JSON.stringify(r)).join('\n');
const WRITE_KEY = 'write-key-0123456789';

describe('POST /v1/events', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer({ write_keys: [WRITE_KEY], max_batch_events: 1000, body_limit: 64 * 1024 });
  });
  afterAll(async () => {
    await s?.stop();
  });

  const post = (body: string | Buffer, headers: Record<string, string> = {}) =>
    fetch(`${s.url}/v1/events`, {
      method: 'POST',
      body: typeof body === 'string' ? body : new Uint8Array(body),
      headers: { authorization: `Bearer ${WRITE_KEY}`, 'content-type': 'application/x-ndjson', ...headers },
    });

  it('accepts NDJSON, counts duplicates and rejects bad records with reasons', async () => {
    const body = [
      JSON.stringify(ev(1)),
      JSON.stringify(ev(2, 'click')),
      JSON.stringify(ev(1)),
      '{"event_id": "x", "type": "impression"',
      JSON.stringify(ev(3, 'impression', { revenue: '-1' })),
    ].join('\n');
    const res = await post(body);
    expect(res.status).toBe(200);
    const out = (await res.json()) as { errors: unknown[] };
    expect(out).toMatchObject({ accepted: 2, duplicates: 1, rejected: 2 });
    expect(out.errors).toEqual([
      { index: 3, code: 'record.invalid_json', reason: expect.stringContaining('JSON') },
      { index: 4, code: 'money.negative', reason: expect.stringContaining('revenue') },
    ]);
    // The same ids again: remembered as acknowledged.
    const again = await (await post(ndjson([ev(1), ev(2, 'click')]))).json();
    expect(again).toMatchObject({ accepted: 0, duplicates: 2 });
    const dead = readdirSync(path.join(s.dataDir, 'deadletter')).filter((f) => f.startsWith('http-'));
    const lines = dead.flatMap((f) =>
      readFileSync(path.join(s.dataDir, 'deadletter', f), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    );
    expect(lines).toContainEqual(
      expect.objectContaining({ source: 'events', index: 4, code: 'money.negative', field: 'revenue' }),
    );
    expect(lines.find((l) => l.index === 3).text).toBe('{"event_id": "x", "type": "impression"');
  });

  it('accepts a JSON array, {"events": [...]} and gzip', async () => {
    const a = await post(JSON.stringify([ev(10), ev(11)]), { 'content-type': 'application/json' });
    expect(await a.json()).toMatchObject({ accepted: 2, rejected: 0 });
    const b = await post(JSON.stringify({ events: [ev(12)] }), { 'content-type': 'application/json' });
    expect(await b.json()).toMatchObject({ accepted: 1 });
    const c = await post(gzipSync(ndjson([ev(13), ev(14), ev(15)])), { 'content-encoding': 'gzip' });
    expect(await c.json()).toMatchObject({ accepted: 3 });
  });

  it('answers 400 with a reason for malformed JSON and loses nothing around it', async () => {
    const [good1, bad, good2] = await Promise.all([
      post(ndjson([ev(20)])),
      post('{"events": [', { 'content-type': 'application/json' }),
      post(ndjson([ev(21)])),
    ]);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: unknown }).error).toMatchObject({
      code: 'ADP_ERR_BAD_PARAM',
      message: expect.stringContaining('JSON'),
    });
    expect(await good1.json()).toMatchObject({ accepted: 1 });
    expect(await good2.json()).toMatchObject({ accepted: 1 });
  });

  it('refuses missing and wrong keys with 401, accepts Basic and X-API-Key', async () => {
    const body = ndjson([ev(30)]);
    expect((await post(body, { authorization: '' })).status).toBe(401);
    expect((await post(body, { authorization: 'Bearer wrong-key-0123456789' })).status).toBe(401);
    const basic = `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`;
    expect((await post(body, { authorization: basic })).status).toBe(200);
    expect((await post(ndjson([ev(31)]), { authorization: '', 'x-api-key': WRITE_KEY })).status).toBe(200);
  });

  it('answers 413 for oversized bodies, gzip bombs and too many events', async () => {
    const big = 'x'.repeat(65 * 1024);
    const r1 = await post(big);
    expect(r1.status).toBe(413);
    const bomb = gzipSync(Buffer.alloc(10 * 1024 * 1024, 0x20));
    expect(bomb.length).toBeLessThan(64 * 1024);
    const r2 = await post(bomb, { 'content-encoding': 'gzip' });
    expect(r2.status).toBe(413);
    expect((await r2.json()).error.message).toContain('decompression');
    const many = Array.from({ length: 1001 }, () => '{}').join('\n');
    const r3 = await post(many);
    expect(r3.status).toBe(413);
    expect((await r3.json()).error.code).toBe('ADP_ERR_COLLECTOR_BATCH_TOO_LARGE');
  });

  it('drains what it acknowledged into the lake exactly once', async () => {
    await s.stop();
    s = await startServer({ write_keys: [WRITE_KEY] }, s.dataDir);
    // Everything accepted above: e-1, e-2 (click), e-10..15, e-20, e-21, e-30, e-31.
    await expect
      .poll(() => lakeCounts(s.warehouse), { timeout: 10_000 })
      .toEqual({ impression: 11, click: 1 });
    expect(readdirSync(path.join(s.dataDir, 'spool')).filter((f) => f.endsWith('.ndjson'))).toEqual([]);
  });
});
