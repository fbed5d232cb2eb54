import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lakeRelation } from '../../src/lake/lake.js';
import { signedClickUrl, signedPixelUrl } from '../../src/server/collector/click-signature.js';
import { makeTempDir } from '../helpers/tmp.js';
import { startServer, type TestServer } from './server.js';

const SECRET = 'click-secret-0123456789abcdef';
const WRITE_KEY = 'pixel-write-key-01';

describe('pixels and signed clicks', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer({ secret: SECRET, write_keys: [WRITE_KEY], pixels_without_key: true });
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('answers the impression pixel with an uncached 1x1 GIF and records it', async () => {
    // Signed, so it may carry its id and money (test/security/hits.test.ts probes the unsigned).
    const signed = signedPixelUrl(
      s.url,
      { media_id: 'm1', inventory_id: 'inv1', event_id: 'px-1', revenue: '0.0015' },
      SECRET,
    );
    const res = await fetch(signed, { headers: { 'user-agent': 'PixelTest/1.0' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/gif');
    expect(res.headers.get('cache-control')).toContain('no-store');
    const gif = Buffer.from(await res.arrayBuffer());
    expect(gif.subarray(0, 6).toString()).toBe('GIF89a');
    expect(gif.readUInt16LE(6)).toBe(1);
    expect(gif.readUInt16LE(8)).toBe(1);
    // Byte for byte (it holds bytes above 0x7f, which a text encoding could mangle).
    expect(gif.toString('base64')).toBe('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7');
    expect(res.headers.get('content-length')).toBe('42');
    // Without event_id and ts the server makes them; a bad field is named in a header.
    expect((await fetch(`${s.url}/i?media_id=m1`)).headers.get('x-adpipe-rejected')).toBeNull();
    expect((await fetch(`${s.url}/i?media_id=m1&device=TABLET`)).headers.get('x-adpipe-rejected')).toBe(
      'device.invalid',
    );
    const negative = signedPixelUrl(s.url, { event_id: 'px-neg', revenue: '-3' }, SECRET);
    expect((await fetch(negative)).headers.get('x-adpipe-rejected')).toBe('money.negative');
  });

  it('redirects a signed click and records it; refuses forged or unsigned ones without recording', async () => {
    const good = signedClickUrl(
      s.url,
      { event_id: 'clk-1', ad_id: 'ad-5', url: 'https://example.com/landing?a=1&b=2' },
      SECRET,
    );
    const res = await fetch(good, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('https://example.com/landing?a=1&b=2');

    const forged = good.replace(
      encodeURIComponent('https://example.com/landing?a=1&b=2'),
      encodeURIComponent('https://evil.example/'),
    );
    const r1 = await fetch(forged, { redirect: 'manual' });
    expect(r1.status).toBe(403);
    expect(r1.headers.get('location')).toBeNull();
    const unsigned = await fetch(`${s.url}/c?event_id=clk-2&url=https%3A%2F%2Fevil.example%2F`, {
      redirect: 'manual',
    });
    expect(unsigned.status).toBe(403);
    const otherKey = signedClickUrl(
      s.url,
      { event_id: 'clk-3', url: 'https://example.com/' },
      'another-secret-0123456789',
    );
    expect((await fetch(otherKey, { redirect: 'manual' })).status).toBe(403);

    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    expect(metrics).toMatch(/adpipe_collector_forged_clicks_total 3/);
    expect(metrics).toMatch(/adpipe_collector_events_total\{source="click",outcome="accepted"\} 1/);
    expect(metrics).toMatch(/adpipe_http_requests_total\{route="\/c",status="302"\} 1/);
    expect(metrics).toMatch(/adpipe_spool_fsync_seconds_count \d+/);
    expect(metrics).toMatch(/adpipe_spool_events \d+/);
  });

  it('prints signed URLs from adpipe sign-click that the server accepts', async () => {
    const dir = makeTempDir('signclick');
    const config = path.join(dir, 'adpipe.yaml');
    writeFileSync(config, `server:\n  secret: ${SECRET}\n`);
    const out = execFileSync(
      process.execPath,
      [
        '--import',
        'tsx',
        path.resolve('test/collector/cli.ts'),
        '--config',
        config,
        'sign-click',
        '--url',
        'https://example.com/x',
        '--param',
        'event_id=clk-cli',
        '--param',
        'campaign_id=c7',
        '--base',
        s.url,
      ],
      { encoding: 'utf8' },
    ).trim();
    expect(out).toMatch(/\/c\?campaign_id=c7&event_id=clk-cli&url=https%3A%2F%2Fexample\.com%2Fx&sig=/);
    const res = await fetch(out, { redirect: 'manual' });
    expect(res.status).toBe(302);
  });

  it('is ready and lands pixels and clicks in the lake', async () => {
    const ready = await fetch(`${s.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true, checks: { spool: 'ok', lake: 'ok' } });
    await s.stop();
    s = await startServer({ secret: SECRET }, s.dataDir);
    const rows = async () =>
      s.warehouse.all<{ event_id: string; type: string }>(
        `SELECT event_id, type, user_agent, revenue::VARCHAR AS revenue FROM ${await lakeRelation(s.warehouse)} ORDER BY event_id`,
      );
    await expect.poll(async () => (await rows()).length, { timeout: 15_000 }).toBe(4);
    const all = await rows();
    expect(all.filter((r) => r.type === 'click').map((r) => r.event_id)).toEqual(['clk-1', 'clk-cli']);
    expect(all.find((r) => r.event_id === 'px-1')).toMatchObject({
      user_agent: 'PixelTest/1.0',
      revenue: '0.001500',
    });
    const generated = all.find((r) => r.type === 'impression' && r.event_id !== 'px-1')!;
    expect(generated.event_id).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });
});

describe('a burst of pixels', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer({ pixels_without_key: true, secret: SECRET });
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('answers each of many concurrent pixels, over several groups, with its own verdict, and lands the kept ones once', async () => {
    // More hits than one group holds; a fifth invalid, and one signed id sent many times.
    const dup = signedPixelUrl(s.url, { event_id: 'dup-1', media_id: 'm-burst' }, SECRET);
    const url = (i: number) =>
      i % 5 === 0
        ? `${s.url}/i?media_id=m-burst&device=TABLET`
        : i % 7 === 0
          ? dup
          : `${s.url}/i?media_id=m-burst&n=${i}`;
    const n = 700;
    const answers = await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const res = await fetch(url(i));
        await res.arrayBuffer();
        return { status: res.status, rejected: res.headers.get('x-adpipe-rejected') };
      }),
    );
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(answers.map((a) => a.rejected)).toEqual(
      answers.map((_, i) => (i % 5 === 0 ? 'device.invalid' : null)),
    );
    const rejected = answers.filter((a) => a.rejected).length;
    const repeats = Array.from({ length: n }, (_, i) => i).filter((i) => i % 5 !== 0 && i % 7 === 0).length;
    const kept = n - rejected - repeats + 1;

    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    const count = (outcome: string) =>
      Number(new RegExp(`source="pixel",outcome="${outcome}"} (\\d+)`).exec(metrics)?.[1]);
    expect(count('rejected')).toBe(rejected);
    // Ack-time duplicate counts are a courtesy: two groups in flight at once may both take the same
    // new id. The drain's dedup is the authority, below.
    expect(count('accepted') + count('duplicate')).toBe(n - rejected);
    expect(count('accepted')).toBeGreaterThanOrEqual(kept);
    expect(metrics).toContain(`adpipe_http_requests_total{route="/i",status="200"} ${n}`);

    const landed = async () =>
      Number(
        (
          await s.warehouse.all<{ n: string }>(
            `SELECT count(*)::VARCHAR AS n FROM ${await lakeRelation(s.warehouse)} WHERE media_id = 'm-burst'`,
          )
        )[0]!.n,
      );
    await expect.poll(landed, { timeout: 15_000 }).toBe(kept);
  });
});

describe('HEAD on pixels and clicks', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer({ secret: SECRET, write_keys: [WRITE_KEY], pixels_without_key: true });
  });
  afterAll(async () => {
    await s?.stop();
  });

  const accepted = async (source: string) => {
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    return Number(new RegExp(`source="${source}",outcome="accepted"} (\\d+)`).exec(metrics)?.[1] ?? 0);
  };
  const landed = async (mediaId: string) =>
    Number(
      (
        await s.warehouse.all<{ n: string }>(
          `SELECT count(*)::VARCHAR AS n FROM ${await lakeRelation(s.warehouse)} WHERE media_id = '${mediaId}'`,
        )
      )[0]!.n,
    );

  it('answers a HEAD like the GET and records only the GET: pixels keyless and keyed, signed clicks', async () => {
    // Keyless (the path that skips fastify takes only GETs) and with a key in a header (fastify's route).
    for (const [mediaId, headers] of [
      ['m-head-open', {}],
      ['m-head-keyed', { 'x-api-key': WRITE_KEY }],
    ] as const) {
      const head = await fetch(`${s.url}/i?media_id=${mediaId}`, { method: 'HEAD', headers });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-type')).toBe('image/gif');
      expect(head.headers.get('content-length')).toBe('42');
      expect(head.headers.get('cache-control')).toContain('no-store');
      expect((await head.arrayBuffer()).byteLength).toBe(0);
      expect((await fetch(`${s.url}/i?media_id=${mediaId}`, { headers })).status).toBe(200);
    }
    expect(await accepted('pixel')).toBe(2);

    const click = signedClickUrl(
      s.url,
      { ad_id: 'ad-head', media_id: 'm-head-click', url: 'https://example.com/head' },
      SECRET,
    );
    const head = await fetch(click, { method: 'HEAD', redirect: 'manual' });
    expect(head.status).toBe(302);
    expect(head.headers.get('location')).toBe('https://example.com/head');
    expect(head.headers.get('cache-control')).toContain('no-store');
    expect(await accepted('click')).toBe(0);
    // A forged click is refused on HEAD as on GET.
    expect((await fetch(click.replace('ad-head', 'ad-other'), { method: 'HEAD' })).status).toBe(403);
    expect((await fetch(click, { redirect: 'manual' })).status).toBe(302);
    expect(await accepted('click')).toBe(1);

    // In the lake once each, after the spool drained.
    await expect
      .poll(
        async () => [await landed('m-head-open'), await landed('m-head-keyed'), await landed('m-head-click')],
        {
          timeout: 15_000,
        },
      )
      .toEqual([1, 1, 1]);
  });
});
