// Payloads from Segment's HTTP Tracking API reference (track, page, screen, identify, batch).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runReport } from '../../src/reports/query.js';
import { lakeCounts, startServer, type TestServer } from './server.js';

const WRITE_KEY = 'segment-write-key-1';
const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;

const TRACK = {
  userId: '019mr8mf4r',
  event: 'Item Purchased',
  properties: { name: 'Leap to the Stars', revenue: 39.95, shippingMethod: '2-day' },
  context: { ip: '24.5.68.47' },
  timestamp: '2012-12-02T00:30:08.276Z',
};
const PAGE = { userId: '019mr8mf4r', name: 'Tracking HTTP API', timestamp: '2012-12-02T00:30:08.276Z' };
const SCREEN = { userId: '019mr8mf4r', name: 'Tracking HTTP API', timestamp: '2012-12-02T00:30:08.276Z' };
const IDENTIFY = {
  userId: '019mr8mf4r',
  traits: { email: 'pgibbons@example.com', name: 'Peter Gibbons', industry: 'Technology' },
  context: { ip: '24.5.68.47' },
  timestamp: '2012-12-02T00:30:08.276Z',
};
const BATCH = {
  batch: [
    {
      type: 'identify',
      userId: '019mr8mf4r',
      traits: { email: 'jake@yahoo.com', name: 'Jake Peterson', age: 26 },
      timestamp: '2012-12-02T00:30:08.276Z',
    },
    {
      type: 'track',
      userId: '019mr8mf4r',
      event: 'Song Played',
      properties: { name: 'Fallin for You', artist: 'Dierks Bentley' },
      timestamp: '2012-12-02T00:30:12.984Z',
    },
    {
      type: 'identify',
      userId: '971mj8mk7p',
      traits: { email: 'cindy@example.com', name: 'Cindy Gonzalez', age: 23 },
      timestamp: '2012-12-02T00:30:08.276Z',
    },
    {
      type: 'track',
      userId: '971mj8mk7p',
      event: 'Song Played',
      properties: { name: 'Get Right', artist: 'Jennifer Lopez' },
      timestamp: '2012-12-02T00:30:12.984Z',
    },
  ],
  context: { device: { type: 'phone', name: 'Apple iPhone 6' } },
};

describe('Segment HTTP Tracking API', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer({ write_keys: [WRITE_KEY] });
  });
  afterAll(async () => {
    await s?.stop();
  });

  const call = (path: string, body: unknown, auth = basic(WRITE_KEY)) =>
    fetch(`${s.url}/v1/${path}`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { authorization: auth, 'content-type': 'application/json' },
    });

  it('accepts the spec examples with Basic auth (write key as user name)', async () => {
    expect(await (await call('track', TRACK)).json()).toMatchObject({ success: true, accepted: 1 });
    expect(await (await call('page', PAGE)).json()).toMatchObject({ success: true, accepted: 1 });
    expect(await (await call('screen', SCREEN)).json()).toMatchObject({ success: true, accepted: 1 });
    expect(await (await call('identify', IDENTIFY)).json()).toMatchObject({ success: true, accepted: 0 });
    expect(await (await call('batch', BATCH)).json()).toMatchObject({ success: true, accepted: 2 });
    // Retried without messageId: the id derived from the message makes it a duplicate.
    expect(await (await call('track', TRACK)).json()).toMatchObject({ accepted: 0, duplicates: 1 });
  });

  it('refuses a wrong write key and accepts writeKey in the body', async () => {
    expect((await call('track', TRACK, basic('not-the-key'))).status).toBe(401);
    const res = await call('track', { ...TRACK, messageId: 'body-key-1', writeKey: WRITE_KEY }, '');
    expect(await res.json()).toMatchObject({ accepted: 1 });
  });

  it('maps ad events, properties and context onto the contract', async () => {
    const ad = {
      messageId: 'ad-imp-1',
      anonymousId: 'anon-7',
      event: 'Ad Impression',
      properties: { media_id: 'm9', inventory_id: 'inv-3', revenue: '0.0025', creative: 'c-1' },
      context: {
        ip: '10.0.0.1',
        userAgent: 'UA/1',
        locale: 'ko-KR',
        os: { name: 'iOS' },
        device: { type: 'ios' },
      },
      timestamp: '2025-03-01T12:00:00Z',
    };
    expect(await (await call('track', ad)).json()).toMatchObject({ accepted: 1 });
    await s.stop();
    s = await startServer({ write_keys: [WRITE_KEY] }, s.dataDir);
    await expect
      .poll(() => lakeCounts(s.warehouse), { timeout: 15_000 })
      .toEqual({ custom: 6, impression: 1 });
    const row = await s.warehouse.one<Record<string, string>>(
      `SELECT * FROM ${await (await import('../../src/lake/lake.js')).lakeRelation(s.warehouse)} WHERE event_id = 'ad-imp-1'`,
    );
    expect(row).toMatchObject({
      type: 'impression',
      name: null,
      user_id: 'anon-7',
      media_id: 'm9',
      inventory_id: 'inv-3',
      revenue: '0.002500',
      ip: '10.0.0.1',
      user_agent: 'UA/1',
      country: 'KR',
      os: 'iOS',
      device: 'MOBILE',
      app_type: 'IOS',
    });
    expect(JSON.parse(row!.props!)).toEqual({ properties: { creative: 'c-1' } });
  });

  it('counts feature usage in the usage report (events and distinct users per name)', async () => {
    const report = await runReport(s.warehouse, {
      report: 'usage',
      from: '2012-12-02',
      to: '2012-12-02',
      grain: 'total',
    });
    const byName = Object.fromEntries(
      report.rows.map((r) => [r.name, { events: Number(r.events), users: Number(r.users) }]),
    );
    expect(byName).toEqual({
      'Item Purchased': { events: 2, users: 1 },
      'Tracking HTTP API': { events: 2, users: 1 },
      'Song Played': { events: 2, users: 2 },
    });
  });
});
