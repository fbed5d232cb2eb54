import { afterEach, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from './server.js';

const line = (id: string) => JSON.stringify({ event_id: id, type: 'request', ts: '2025-01-01T00:00:00Z' });

describe('collector limits', () => {
  let s: TestServer | undefined;
  afterEach(async () => {
    await s?.stop();
    s = undefined;
  });
  const post = (body: string, key = 'k-000000001') =>
    fetch(`${s!.url}/v1/events`, { method: 'POST', body, headers: { 'x-api-key': key } });

  it('limits requests per key with 429 and Retry-After', async () => {
    s = await startServer({ write_keys: ['k-000000001', 'k-000000002'], rate_limit_per_key: 2 });
    expect((await post(line('a'))).status).toBe(200);
    expect((await post(line('b'))).status).toBe(200);
    const limited = await post(line('c'));
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await limited.json()) as { error: { code: string } }).error.code).toBe(
      'ADP_ERR_HTTP_RATE_LIMITED',
    );
    // Another key has its own budget.
    expect((await post(line('c'), 'k-000000002')).status).toBe(200);
  });

  it('limits pixels per key presented in a header, and per address on the path that skips fastify', async () => {
    s = await startServer({
      pixels_without_key: true,
      write_keys: ['k-000000001', 'k-000000002'],
      rate_limit_per_key: 2,
      rate_limit_per_address: 6,
    });
    const pixel = (headers: Record<string, string> = {}) => fetch(`${s!.url}/i?media_id=m1`, { headers });
    expect((await pixel({ 'x-api-key': 'k-000000001' })).status).toBe(200);
    expect((await pixel({ authorization: 'Bearer k-000000001' })).status).toBe(200);
    const limited = await pixel({ 'X-Api-Key': 'k-000000001' });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await pixel({ 'x-api-key': 'k-000000002' })).status).toBe(200);
    // Four requests from this address so far; keyless pixels take the fast path and share its budget.
    expect((await pixel()).status).toBe(200);
    expect((await pixel()).status).toBe(200);
    const overAddress = await pixel();
    expect(overAddress.status).toBe(429);
    expect(Number(overAddress.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('answers 503 with Retry-After while the spool is over its high-water mark', async () => {
    s = await startServer({ spool_high_water: 3, drain_interval_ms: 600_000, drain_events: 1_000_000 });
    expect(await (await post([line('a'), line('b'), line('c')].join('\n'))).json()).toMatchObject({
      accepted: 3,
    });
    const full = await post(line('d'));
    expect(full.status).toBe(503);
    expect(full.headers.get('retry-after')).toBe('5');
    expect((await full.json()).error.code).toBe('ADP_ERR_COLLECTOR_OVERLOADED');
    const pixel = await fetch(`${s.url}/i?media_id=m1`);
    expect(pixel.status).toBe(503);
  });
});
