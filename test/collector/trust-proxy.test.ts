// server.trust_proxy: the client address a pixel or click records (and is rate-limited by) is the
// socket's peer unless that peer is a trusted proxy, whose X-Forwarded-For then names the client.
// Keyless pixels take the raw path that skips fastify, keyed ones and clicks fastify's routes: all
// must agree.

import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { lakeRelation } from '../../src/lake/lake.js';
import { signedClickUrl } from '../../src/server/collector/click-signature.js';
import { Warehouse } from '../../src/warehouse/warehouse.js';
import { makeTempDir } from '../helpers/tmp.js';
import { serve } from './serve.js';
import { startServer, type TestServer } from './server.js';

const SECRET = 'proxy-secret-0123456789abcdef';
const WRITE_KEY = 'proxy-write-key-01';
const CLIENT = '203.0.113.7';
/** A client behind two proxies: the nearer one (10.1.2.3) forwarded what the farther one said. */
const CHAIN = '198.51.100.9, 10.1.2.3';

/** The ip recorded per media_id, once `n` events are in the lake. */
async function recordedIps(wh: Warehouse, n: number): Promise<Record<string, string>> {
  const rows = async () =>
    wh.all<{ media_id: string; ip: string }>(
      `SELECT media_id, ip FROM ${await lakeRelation(wh)} ORDER BY media_id`,
    );
  await expect.poll(async () => (await rows()).length, { timeout: 15_000 }).toBe(n);
  return Object.fromEntries((await rows()).map((r) => [r.media_id, r.ip]));
}

describe('server.trust_proxy', () => {
  let s: TestServer | undefined;
  afterEach(async () => {
    await s?.stop();
    s = undefined;
  });

  /** A keyless pixel, a keyed pixel and a signed click, each forwarded for `forwarded`. */
  const hits = async (forwarded: string) => {
    const xff = { 'x-forwarded-for': forwarded };
    const open = await fetch(`${s!.url}/i?media_id=open`, { headers: xff });
    const keyed = await fetch(`${s!.url}/i?media_id=keyed`, { headers: { ...xff, 'x-api-key': WRITE_KEY } });
    const click = signedClickUrl(s!.url, { media_id: 'click', url: 'https://example.com/' }, SECRET);
    const clicked = await fetch(click, { headers: xff, redirect: 'manual' });
    expect([open.status, keyed.status, clicked.status]).toEqual([200, 200, 302]);
    return recordedIps(s!.warehouse, 3);
  };
  const start = (trust_proxy?: unknown) =>
    startServer({
      secret: SECRET,
      write_keys: [WRITE_KEY],
      pixels_without_key: true,
      ...(trust_proxy === undefined ? {} : { trust_proxy }),
    });
  const everywhere = (ip: string) => ({ open: ip, keyed: ip, click: ip });

  it('ignores X-Forwarded-For by default', async () => {
    s = await start();
    expect(await hits(CLIENT)).toEqual(everywhere('127.0.0.1'));
  });

  it('records the forwarded client with trust_proxy: true', async () => {
    s = await start(true);
    expect(await hits(CLIENT)).toEqual(everywhere(CLIENT));
  });

  it('records the forwarded client when the peer is in the list, up to the first untrusted hop', async () => {
    // 127.0.0.1 (this peer) is trusted, 10.1.2.3 is not: it is the client as far as we can tell.
    s = await start(['127.0.0.1']);
    expect(await hits(CHAIN)).toEqual(everywhere('10.1.2.3'));
  });

  it('follows a chain of trusted proxies given as CIDR ranges', async () => {
    s = await start(['127.0.0.0/8', '10.0.0.0/8']);
    expect(await hits(CHAIN)).toEqual(everywhere('198.51.100.9'));
  });

  it('ignores X-Forwarded-For when the peer is not in the list', async () => {
    s = await start(['10.0.0.0/8', '192.0.2.1']);
    expect(await hits(CLIENT)).toEqual(everywhere('127.0.0.1'));
  });

  it('rate-limits each forwarded client on its own, on the path that skips fastify too', async () => {
    s = await startServer({ trust_proxy: true, pixels_without_key: true, rate_limit_per_address: 2 });
    const pixel = (client: string) =>
      fetch(`${s!.url}/i?media_id=m1`, { headers: { 'x-forwarded-for': client } }).then((r) => r.status);
    expect([await pixel(CLIENT), await pixel(CLIENT), await pixel(CLIENT)]).toEqual([200, 200, 429]);
    expect(await pixel('198.51.100.9')).toBe(200);
  });

  it('refuses a hop count or an entry that is no address', () => {
    for (const trust_proxy of [1, [], ['10.0.0.0/33'], ['proxy.example']])
      expect(() => parseConfig({ server: { trust_proxy } }), JSON.stringify(trust_proxy)).toThrow(
        /server\.trust_proxy/,
      );
    expect(
      parseConfig({ server: { trust_proxy: ['loopback', '::1', '10.0.0.0/255.0.0.0'] } }).server.trust_proxy,
    ).toHaveLength(3);
  });
});

describe('serve --trust-proxy', () => {
  it('overrides server.trust_proxy of the config', async () => {
    const dir = makeTempDir('trust-proxy-cli');
    const config = path.join(dir, 'adpipe.yaml');
    writeFileSync(config, 'server:\n  trust_proxy: false\n  drain_interval_ms: 200\n');
    const { child, url } = await serve(dir, config, { args: ['--trust-proxy', '10.0.0.0/8, 127.0.0.1'] });
    try {
      expect((await fetch(`${url}/i?media_id=cli`, { headers: { 'x-forwarded-for': CLIENT } })).status).toBe(
        200,
      );
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    // The shutdown drained the spool into the lake.
    const wh = await Warehouse.open(dir);
    try {
      expect(await recordedIps(wh, 1)).toEqual({ cli: CLIENT });
    } finally {
      wh.close();
    }
  });

  it('refuses a value that is not true, false or addresses', () => {
    const out = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        path.resolve('test/collector/cli.ts'),
        'serve',
        '--port',
        '0',
        '--trust-proxy',
        '2',
      ],
      { encoding: 'utf8' },
    );
    expect(out.status).not.toBe(0);
    expect(out.stderr).toMatch(/--trust-proxy .*IP address.*got 2/);
  });
});
