// Finding 3 and parts of 8 of #23, probed against a real server over HTTP: keyless pixels only
// within the pixel policy (no clicks, no money, no chosen ids), signed clicks whose id cannot be
// taken first, rate limits per client address and on failed keys, keys only in headers and never
// in the logs, and no control characters in a signed URL. The legitimate flows still work.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { lakeRelation } from '../../src/lake/lake.js';
import { redactKeys } from '../../src/server/app.js';
import { signedClickUrl, signedPixelUrl } from '../../src/server/collector/click-signature.js';
import { HIT_SEPARATOR, validateHits } from '../../src/server/collector/hits.js';
import { addressBucket } from '../../src/server/collector/rate-limit.js';
import { startServer, type TestServer } from '../collector/server.js';
import { makeTempDir } from '../helpers/tmp.js';

const SECRET = 'hits-secret-0123456789abcdef';
const WRITE = 'write-key-0123456789';
const READ = 'read-key-0123456789';
const CLI = path.resolve('test/collector/cli.ts');

const pixel = async (url: string, headers: Record<string, string> = {}) => {
  const res = await fetch(url, { headers });
  await res.arrayBuffer();
  return { status: res.status, rejected: res.headers.get('x-adpipe-rejected') };
};

/** The lake's events of the server's data dir, once the drain has landed `n` of them. */
async function landed(s: TestServer, n: number) {
  const rows = async () =>
    s.warehouse.all<{ event_id: string; type: string; revenue: string; media_id: string | null }>(
      `SELECT event_id, type, revenue::VARCHAR AS revenue, media_id FROM ${await lakeRelation(s.warehouse)}
       ORDER BY event_id`,
    );
  await expect.poll(async () => (await rows()).length, { timeout: 15_000 }).toBe(n);
  return rows();
}

/** The parameters' canonical form signed by hand, the way a signer that checks nothing would. */
function handSigned(base: string, route: string, params: Record<string, string>): string {
  const canonical = Object.keys(params)
    .sort()
    .map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(params[k]!)}`)
    .join('&');
  const sig = createHmac('sha256', SECRET).update(canonical).digest('base64url');
  return `${base}${route}?${canonical}&sig=${sig}`;
}

describe('keyless pixels within the policy, clicks only signed', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer({ secret: SECRET, write_keys: [WRITE] });
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('refuses a conversion with revenue on a keyless pixel, books nothing and names the reason', async () => {
    expect(await pixel(`${s.url}/i?type=conversion&revenue=1000&media_id=m-sec`)).toEqual({
      status: 200,
      rejected: 'pixel.type',
    });
    // The alias and a different case are the same type to the validator, so they are refused too.
    expect((await pixel(`${s.url}/i?event_type=conversion&media_id=m-sec`)).rejected).toBe('pixel.type');
    expect((await pixel(`${s.url}/i?type=Conversion&media_id=m-sec`)).rejected).toBe('pixel.type');
    // Money on an impression needs a signature.
    expect((await pixel(`${s.url}/i?revenue=1000&media_id=m-sec`)).rejected).toBe('pixel.money');
    expect((await pixel(`${s.url}/i?cost=5&media_id=m-sec`)).rejected).toBe('pixel.money');
  });

  it('refuses a keyless click on /i', async () => {
    expect(await pixel(`${s.url}/i?type=click&ad_id=a1&media_id=m-sec`)).toEqual({
      status: 200,
      rejected: 'pixel.type',
    });
    expect((await pixel(`${s.url}/i?type=click&type=impression&media_id=m-sec`)).rejected).toBe('pixel.type');
  });

  it('lets no keyless pixel take the id of a public signed click: the genuine click still counts', async () => {
    const click = signedClickUrl(
      s.url,
      { event_id: 'clk-public-1', ad_id: 'a1', media_id: 'm-sec', url: 'https://example.com/land' },
      SECRET,
    );
    expect(await pixel(`${s.url}/i?type=impression&event_id=clk-public-1&media_id=m-sec`)).toEqual({
      status: 200,
      rejected: 'pixel.event_id',
    });
    const res = await fetch(click, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('https://example.com/land');
    // Another parameter on the signed link breaks its signature: the id stays bound to it.
    expect((await fetch(`${click}&event_id=clk-other`, { redirect: 'manual' })).status).toBe(403);
  });

  it('still records the keyless impression pixel, a signed pixel with money once, and keyed pixels and batches', async () => {
    const plain = await pixel(`${s.url}/i?media_id=m-ok&inventory_id=inv1&cb=12345`, {
      'user-agent': 'SecTest/1.0',
    });
    expect(plain).toEqual({ status: 200, rejected: null });

    const signed = handSigned(s.url, '/i', { event_id: 'imp-signed-1', media_id: 'm-ok', revenue: '0.0025' });
    expect(
      signedPixelUrl(s.url, { event_id: 'imp-signed-1', media_id: 'm-ok', revenue: '0.0025' }, SECRET),
    ).toBe(signed);
    expect(await pixel(signed)).toEqual({ status: 200, rejected: null });
    // A replay of the same signed URL is the same event.
    expect(await pixel(signed)).toEqual({ status: 200, rejected: null });
    expect((await pixel(signed.replace('revenue=0.0025', 'revenue=25'))).rejected).toBe('pixel.signature');
    // Signed money without a signed event_id would count again at every replay.
    const noId = handSigned(s.url, '/i', { media_id: 'm-ok', revenue: '1' });
    expect((await pixel(noId)).rejected).toBe('pixel.event_id');

    // A write key in a header opens every field, as POST /v1/events does.
    const keyed = await pixel(`${s.url}/i?type=conversion&event_id=conv-keyed-1&revenue=3.5&media_id=m-ok`, {
      'x-api-key': WRITE,
    });
    expect(keyed).toEqual({ status: 200, rejected: null });
    const wrong = await fetch(`${s.url}/i?type=conversion&revenue=3.5`, {
      headers: { 'x-api-key': `${WRITE}x` },
    });
    expect(wrong.status).toBe(401);

    const batch = await fetch(`${s.url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${WRITE}` },
      body: JSON.stringify({
        event_id: 'batch-1',
        type: 'impression',
        ts: '2026-01-01T00:00:00Z',
        media_id: 'm-ok',
      }),
    });
    expect(await batch.json()).toMatchObject({ accepted: 1, rejected: 0 });

    await s.stop();
    s = await startServer({ secret: SECRET, write_keys: [WRITE] }, s.dataDir);
    // Kept: the signed click, the plain pixel, the signed pixel (once), the keyed conversion, the batch.
    const rows = await landed(s, 5);
    expect(rows.filter((r) => r.media_id === 'm-sec')).toEqual([
      { event_id: 'clk-public-1', type: 'click', revenue: '0.000000', media_id: 'm-sec' },
    ]);
    expect(rows.find((r) => r.event_id === 'imp-signed-1')).toMatchObject({
      type: 'impression',
      revenue: '0.002500',
    });
    expect(rows.find((r) => r.event_id === 'conv-keyed-1')).toMatchObject({
      type: 'conversion',
      revenue: '3.500000',
    });
    expect(rows.filter((r) => r.type === 'conversion')).toHaveLength(1);
    const minted = rows.find(
      (r) =>
        r.media_id === 'm-ok' &&
        r.type === 'impression' &&
        r.event_id !== 'imp-signed-1' &&
        r.event_id !== 'batch-1',
    );
    expect(minted?.event_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('a signed click URL records a click', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer({ secret: SECRET });
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('whatever type its parameters name, so /c cannot book a conversion or an impression', async () => {
    for (const [id, type] of [
      ['clk-typed-1', 'conversion'],
      ['clk-typed-2', 'impression'],
    ] as const) {
      const url = signedClickUrl(
        s.url,
        { event_id: id, type, ad_id: 'a1', media_id: 'm-sec', url: 'https://example.com/land' },
        SECRET,
      );
      expect((await fetch(url, { redirect: 'manual' })).status).toBe(302);
    }
    const url = signedClickUrl(
      s.url,
      {
        event_id: 'clk-typed-3',
        event_type: 'conversion',
        media_id: 'm-sec',
        url: 'https://example.com/land',
      },
      SECRET,
    );
    expect((await fetch(url, { redirect: 'manual' })).status).toBe(302);
    expect((await landed(s, 3)).map((e) => e.type)).toEqual(['click', 'click', 'click']);
  });
});

describe('rate limits per client address and on failed keys', () => {
  let s: TestServer | undefined;
  afterAll(async () => {
    await s?.stop();
  });

  it('limits pixels by address even with a fresh key= per request', async () => {
    s = await startServer({ rate_limit_per_key: 5, rate_limit_per_address: 5 });
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await fetch(`${s.url}/i?media_id=m1&key=fresh-key-${i}-0123456789`);
      await res.arrayBuffer();
      statuses.push(res.status);
      if (res.status === 429) expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    await s.stop();
    s = undefined;
  });

  it('limits wrong keys per address, on the collector and the API, with 429 and Retry-After', async () => {
    s = await startServer({ write_keys: [WRITE], read_keys: [READ], auth_failures_per_address: 4 });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${s.url}/v1/events`, {
        method: 'POST',
        headers: { 'x-api-key': `guess-${i}-0123456789` },
        body: '{}',
      });
      statuses.push(res.status);
    }
    statuses.push((await fetch(`${s.url}/v1/reports`)).status);
    const limited = await fetch(`${s.url}/v1/reports`, {
      headers: { authorization: `Bearer guess-x-0123456789` },
    });
    statuses.push(limited.status);
    expect(statuses).toEqual([401, 401, 401, 401, 429]);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await limited.json()) as { error: { code: string } }).error.code).toBe(
      'ADP_ERR_HTTP_RATE_LIMITED',
    );
    // Guessing stops here: even the right key waits out the window from this address.
    expect((await fetch(`${s.url}/v1/reports`, { headers: { 'x-api-key': READ } })).status).toBe(429);
  });
});

describe('keys only in headers, never in the logs', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill('SIGTERM');
  });

  it('refuses ?key= on read routes but the live stream, and logs no key at info', async () => {
    const dir = makeTempDir('sec-keys');
    const config = path.join(dir, 'adpipe.yaml');
    writeFileSync(
      config,
      `server:\n  read_keys: [${READ}]\n  write_keys: [${WRITE}]\n  pixels_without_key: false\n`,
    );
    child = spawn(
      process.execPath,
      ['--import', 'tsx', CLI, '--config', config, '--data-dir', dir, 'serve', '--port', '0'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, ADPIPE_LOG_LEVEL: 'info' },
      },
    );
    let logs = '';
    child.stderr!.on('data', (d: Buffer) => {
      logs += d.toString();
    });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child!.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /serving on (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child!.once('exit', (code) => reject(new Error(`serve exited early with ${code}: ${logs}`)));
    });

    for (const route of ['/v1/reports', '/v1/pipeline', '/v1/deadletter']) {
      const res = await fetch(`${url}${route}?key=${READ}`);
      expect(res.status, route).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('ADP_ERR_HTTP_KEY_IN_URL');
    }
    expect((await fetch(`${url}/v1/reports`, { headers: { 'x-api-key': READ } })).status).toBe(200);
    const controller = new AbortController();
    const live = await fetch(`${url}/v1/live?seconds=1&key=${READ}`, { signal: controller.signal });
    expect(live.status).toBe(200);
    controller.abort();
    // Pixels that need a key take it in the URL (an <img> sends no headers).
    expect(await pixel(`${url}/i?media_id=m1&key=${WRITE}`)).toEqual({ status: 200, rejected: null });
    // … but a key in a page's URL is public: it opens nothing beyond the pixel policy.
    expect((await pixel(`${url}/i?type=conversion&revenue=5&key=${WRITE}`)).rejected).toBe('pixel.type');
    expect((await fetch(`${url}/i?media_id=m1`)).status).toBe(401);
    // An unknown route answers in the error shape of every route, its key redacted there too.
    const nowhere = await fetch(`${url}/nowhere?key=${READ}`);
    expect(nowhere.status).toBe(404);
    const missing = (await nowhere.json()) as {
      error: { code: string; message: string; request_id: string };
    };
    expect(missing.error).toMatchObject({
      code: 'ADP_ERR_HTTP_NOT_FOUND',
      message: 'no route GET /nowhere?key=[redacted]',
    });
    expect(missing.error.request_id).toBeTruthy();

    await expect.poll(() => logs.includes('request completed'), { timeout: 5000 }).toBe(true);
    await expect.poll(() => (logs.match(/incoming request/g) ?? []).length).toBeGreaterThanOrEqual(7);
    expect(logs).toContain('key=[redacted]');
    expect(logs).not.toContain(READ);
    expect(logs).not.toContain(WRITE);
  });
});

describe('no control characters in a signed URL', () => {
  const crlf = 'https://example.com/land\r\nSet-Cookie: session=attacker';

  it('the signer refuses them, in the library and in adpipe sign-click', () => {
    expect(() => signedClickUrl('http://127.0.0.1:8080', { url: crlf }, SECRET)).toThrow(/control character/);
    expect(() =>
      signedClickUrl('http://127.0.0.1:8080', { url: 'https://example.com/', ad_id: 'a\u0000' }, SECRET),
    ).toThrow(/control character/);
    const dir = makeTempDir('sec-sign');
    const config = path.join(dir, 'adpipe.yaml');
    writeFileSync(config, `server:\n  secret: ${SECRET}\n`);
    let failure: { status: number; stderr: string } | undefined;
    try {
      execFileSync(
        process.execPath,
        ['--import', 'tsx', CLI, '--config', config, 'sign-click', '--url', crlf],
        {
          encoding: 'utf8',
          stdio: 'pipe',
        },
      );
    } catch (err) {
      const e = err as { status: number; stderr: string };
      failure = { status: e.status, stderr: e.stderr };
    }
    expect(failure?.status).toBe(2);
    expect(failure?.stderr).toMatch(/ADP_ERR_BAD_PARAM.*control character/);
  });

  it('the collector refuses a URL with them even when its signature is right', async () => {
    const s = await startServer({ secret: SECRET });
    try {
      const res = await fetch(handSigned(s.url, '/c', { event_id: 'clk-crlf', url: crlf }), {
        redirect: 'manual',
      });
      expect(res.status).toBe(400);
      expect(res.headers.get('location')).toBeNull();
      expect(res.headers.get('set-cookie')).toBeNull();
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('ADP_ERR_BAD_PARAM');
    } finally {
      await s.stop();
    }
  });
});

describe('properties', () => {
  /** A parameter name as a client may spell it: plain, upper-cased or percent-encoded byte by byte. */
  const spelled = (name: string) =>
    fc.constantFrom(
      name,
      name.toUpperCase(),
      [...name].map((c) => `%${c.charCodeAt(0).toString(16)}`).join(''),
    );
  const NAMES = ['type', 'event_type', 'event_id', 'revenue', 'cost', 'bid_price', 'ts', 'timestamp', 'ip'];
  const param = fc.tuple(
    fc.oneof(
      fc.constantFrom(...NAMES).chain(spelled),
      fc.constantFrom('media_id', 'props', 'sig', 'key', 'cb'),
    ),
    fc.oneof(fc.constantFrom('impression', 'click', 'CLICK', 'conversion', '1000', '0.5', 'x'), fc.string()),
  );
  const { server } = parseConfig({ server: { secret: SECRET } });
  const policy = { types: server.pixel_types, fields: server.pixel_fields, secret: server.secret };

  it('a keyless pixel never books anything but an impression without money, under an id the server made', () => {
    fc.assert(
      fc.property(fc.array(fc.array(param, { maxLength: 6 }), { minLength: 1, maxLength: 20 }), (hits) => {
        const queries = hits.map((ps) => ps.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&'));
        const rows = queries.flatMap((q) => [q, '192.0.2.1', 'UA', String(Date.now())]).join(HIT_SEPARATOR);
        const batch = validateHits({ rows, type: 'impression', source: 'pixel', receivedAt: '', policy });
        const kept = Buffer.from(batch.spool).toString('utf8').split('\n').filter(Boolean);
        expect(kept.length + batch.errors.length).toBe(hits.length);
        for (const line of kept) {
          const ev = JSON.parse(line) as Record<string, unknown>;
          expect(ev.type).toBe('impression');
          expect(ev.event_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
          expect(ev).not.toHaveProperty('revenue');
          expect(ev).not.toHaveProperty('cost');
          expect(ev).not.toHaveProperty('bid_price');
          expect(ev.ip).toBe('192.0.2.1');
        }
        expect(batch.live.revenueMicros).toBe(0n);
      }),
      { numRuns: 300 },
    );
  });

  it('counts an IPv6 client by its /64, however the address is written, and an IPv4 one by itself', () => {
    const hex = fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16));
    fc.assert(
      fc.property(
        fc.array(hex, { minLength: 8, maxLength: 8 }),
        fc.array(hex, { minLength: 4, maxLength: 4 }),
        (a, b) => {
          const other = [...a.slice(0, 4), ...b];
          expect(addressBucket(other.join(':'))).toBe(addressBucket(a.join(':')));
          expect(addressBucket(a.join(':').toUpperCase())).toBe(addressBucket(a.join(':')));
          expect(addressBucket(`${a.slice(0, 4).join(':')}::1`)).toBe(addressBucket(a.join(':')));
        },
      ),
    );
    expect(addressBucket('2001:db8:1:2::1')).not.toBe(addressBucket('2001:db8:1:3::1'));
    expect(addressBucket('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(addressBucket('192.0.2.7')).not.toBe(addressBucket('192.0.2.8'));
  });

  it('no key survives in a logged URL, however its name is spelled', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Za-z0-9_-]{12,40}$/),
        spelled('key').filter((k) => k !== 'KEY'),
        fc.constantFrom('/v1/live', '/i', '/v1/reports/ad'),
        (key, name, route) => {
          const url = `${route}?seconds=1&${name}=${encodeURIComponent(key)}&media_id=m1`;
          const logged = redactKeys(url);
          expect(logged).not.toContain(key);
          expect(logged).toContain(`${name}=[redacted]`);
          expect(logged).toContain('media_id=m1');
        },
      ),
    );
  });
});
