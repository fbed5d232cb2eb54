import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFixture, startServer, type TestServer } from './fixture.js';

const READ = 'read-key-0123456789';
const WRITE = 'write-key-0123456789';

let server: TestServer;
beforeAll(async () => {
  server = await startServer(await buildFixture('api-access'), {
    server: { read_keys: [READ], write_keys: [WRITE] },
  });
});
afterAll(() => server.close());

describe('read keys', () => {
  const routes = [
    '/v1/reports',
    '/v1/reports/ad?grain=total',
    '/v1/pipeline',
    '/v1/deadletter',
    '/v1/live?seconds=1',
  ];

  it('401 without a key or with a wrong one', async () => {
    for (const url of routes) {
      for (const headers of [{}, { authorization: 'Bearer not-a-key-at-all' }, { 'x-api-key': `${READ}x` }]) {
        const r = await server.app.inject({ url, headers });
        expect(r.statusCode, url).toBe(401);
        expect(r.json().error.code).toBe('ADP_ERR_HTTP_UNAUTHORIZED');
      }
    }
  });

  it('403 for a write-only key', async () => {
    const r = await server.app.inject({ url: '/v1/reports', headers: { authorization: `Bearer ${WRITE}` } });
    expect(r.statusCode).toBe(403);
    expect(r.json().error).toMatchObject({ code: 'ADP_ERR_HTTP_FORBIDDEN' });
  });

  it('200 with the read key as Bearer or X-API-Key', async () => {
    for (const headers of [{ authorization: `Bearer ${READ}` }, { 'x-api-key': READ }]) {
      const r = await server.app.inject({ url: '/v1/reports/ad?grain=total&by=', headers });
      expect(r.statusCode).toBe(200);
    }
  });

  it('the live stream takes the key in the query string (EventSource sends no headers)', async () => {
    const address = await server.app.listen({ port: 0, host: '127.0.0.1' });
    const denied = await fetch(`${address}/v1/live`);
    expect(denied.status).toBe(401);
    const controller = new AbortController();
    const res = await fetch(`${address}/v1/live?seconds=1&key=${READ}`, { signal: controller.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    controller.abort();
  });

  it('the dashboard bundle and the OpenAPI document need no key', async () => {
    const doc = await server.app.inject('/openapi.json');
    expect(doc.statusCode).toBe(200);
    expect(doc.json().openapi).toMatch(/^3\./);
    expect([200, 503]).toContain((await server.app.inject('/')).statusCode);
  });
});
