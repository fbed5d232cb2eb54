// Who may run /v1/admin (the routes CLI commands use beside a running server): an admin key, which
// also reads; a read key gets 403 while admin keys are configured, and runs them while none are.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFixture, startServer, type TestServer } from './fixture.js';

const READ = 'read-key-0123456789';
const ADMIN = 'admin-key-0123456789';
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

let dataDir: string;
beforeAll(async () => {
  dataDir = await buildFixture('api-admin');
});

describe('with admin keys', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(dataDir, { server: { read_keys: [READ], admin_keys: [ADMIN] } });
  });
  afterAll(() => server.close());

  it('an admin key runs verify and SQL (query_sql off), and reads reports', async () => {
    const verify = await server.app.inject({
      method: 'POST',
      url: '/v1/admin/verify',
      headers: bearer(ADMIN),
    });
    expect(verify.statusCode, verify.body).toBe(200);
    expect(verify.json().ok).toBe(true);
    const sql = await server.app.inject({
      method: 'POST',
      url: '/v1/admin/query',
      headers: bearer(ADMIN),
      payload: { sql: "SELECT count(*) AS n FROM lake WHERE type = 'click'", max_rows: 1 },
    });
    expect(sql.statusCode, sql.body).toBe(200);
    expect(Number(sql.json().rows[0].n)).toBeGreaterThan(0);
    expect((await server.app.inject({ url: '/v1/reports', headers: bearer(ADMIN) })).statusCode).toBe(200);
  });

  it('a read key gets 403 saying why, no key 401, and the plain SQL route stays off', async () => {
    const read = await server.app.inject({ method: 'POST', url: '/v1/admin/verify', headers: bearer(READ) });
    expect(read.statusCode).toBe(403);
    expect(read.json().error).toMatchObject({
      code: 'ADP_ERR_HTTP_FORBIDDEN',
      message: 'this key may not run admin commands (it is a read key)',
    });
    const none = await server.app.inject({ url: '/v1/admin/sinks' });
    expect(none.statusCode).toBe(401);
    const off = await server.app.inject({
      method: 'POST',
      url: '/v1/query',
      headers: bearer(ADMIN),
      payload: { sql: 'SELECT 1' },
    });
    expect(off.json().error.code).toBe('ADP_ERR_QUERY_SQL_OFF');
  });
});

describe('without admin keys', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(dataDir, { server: { read_keys: [READ] } });
  });
  afterAll(() => server.close());

  it('a read key runs /v1/admin; no sinks configured is an empty list; an unknown sink is named', async () => {
    const sinks = await server.app.inject({ url: '/v1/admin/sinks', headers: bearer(READ) });
    expect(sinks.statusCode, sinks.body).toBe(200);
    expect(sinks.json()).toEqual([]);
    const unknown = await server.app.inject({
      method: 'POST',
      url: '/v1/admin/sinks/verify?name=nope',
      headers: bearer(READ),
    });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error.message).toBe('no sink named nope (configured: none)');
    expect((await server.app.inject({ url: '/v1/admin/sinks' })).statusCode).toBe(401);
  });
});
