import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { micros } from '../helpers/money.js';
import { buildFixture, startServer, type TestServer } from './fixture.js';

type Row = Record<string, string | number | null>;
interface Body {
  columns: Array<{ name: string; kind: string; money?: boolean }>;
  rows: Row[];
  totals: Row;
  compare?: { from: string; to: string; totals: Row; change: Record<string, number | null> };
  error?: { code: string; message: string };
}

let server: TestServer;
beforeAll(async () => {
  server = await startServer(await buildFixture('api-reports'));
});
afterAll(() => server.close());

async function get(url: string): Promise<{ status: number; body: Body; text: string; type: string }> {
  const res = await server.app.inject(url);
  const type = String(res.headers['content-type']);
  return {
    status: res.statusCode,
    text: res.body,
    type,
    body: type.includes('json') ? res.json() : ({} as Body),
  };
}

async function ok(url: string): Promise<Body> {
  const r = await get(url);
  expect(r.status, r.text).toBe(200);
  return r.body;
}

const sumInt = (rows: Row[], m: string) => rows.reduce((a, r) => a + Number(r[m]), 0);
const sumMoney = (rows: Row[], m: string) => rows.reduce((a, r) => a + micros(r[m]), 0n);

describe('GET /v1/reports', () => {
  it('lists every report with dimensions (extras flagged), measures and derived metrics', async () => {
    const body = (await server.app.inject('/v1/reports')).json();
    expect(body.reports.map((r: { name: string }) => r.name)).toEqual(
      expect.arrayContaining(['ad', 'ad_request', 'demand', 'media', 'campaign']),
    );
    const media = body.reports.find((r: { name: string }) => r.name === 'media');
    expect(media.dimensions).toContainEqual({ name: 'country', label: 'Country', extra: true, all: false });
    expect(media.dimensions).toContainEqual({
      name: 'media_id',
      label: 'Media',
      extra: false,
      all: false,
      nameColumn: 'media_name',
    });
    expect(media.measures.find((m: { name: string }) => m.name === 'media_revenue')).toMatchObject({
      kind: 'share',
      money: true,
    });
    expect(media.metrics.map((m: { name: string }) => m.name)).toEqual(['ctr', 'ecpm']);
    expect(body.grains).toEqual(['hour', 'day', 'week', 'month', 'total']);
  });
});

describe('GET /v1/reports/:name', () => {
  it('defaults: day grain, the report’s own dimensions, all metrics, a totals row', async () => {
    const b = await ok('/v1/reports/ad_request');
    expect(b.columns.map((c) => c.name)).toEqual([
      'date',
      'org_id',
      'media_id',
      'inventory_id',
      'device',
      'app_type',
      'requests',
      'responses',
      'passbacks',
      'fill_rate',
      'passback_rate',
    ]);
    // 24+28+32+36 requests over four days; the ALL rows of device/app_type are not counted twice.
    expect(b.totals).toMatchObject({ requests: 120, responses: 90, passbacks: 30, fill_rate: 0.75 });
  });

  it('totals equal the sum of the rows for every additive measure, metrics come from the totals', async () => {
    for (const url of [
      '/v1/reports/ad?grain=day&by=media_id,country',
      '/v1/reports/media?grain=total&by=media_id',
      '/v1/reports/campaign?grain=hour&by=campaign_id',
      '/v1/reports/demand?grain=week&by=demand_id,ad_format',
    ]) {
      const b = await ok(url);
      expect(b.rows.length).toBeGreaterThan(0);
      for (const c of b.columns.filter((c) => c.kind === 'measure')) {
        if (c.money) expect(micros(b.totals[c.name]), `${url} ${c.name}`).toBe(sumMoney(b.rows, c.name));
        else expect(b.totals[c.name], `${url} ${c.name}`).toBe(sumInt(b.rows, c.name));
      }
      if ('ctr' in b.totals) {
        const ctr = Number(b.totals.clicks) / Number(b.totals.impressions);
        expect(b.totals.ctr).toBeCloseTo(ctr, 6);
      }
    }
  });

  it('media revenue plus agency revenue is gross revenue to the micro, in rows and totals', async () => {
    const b = await ok('/v1/reports/media?grain=total&by=org_id');
    for (const r of [...b.rows, b.totals])
      expect(micros(r.media_revenue) + micros(r.agency_revenue)).toBe(micros(r.gross_revenue));
  });

  it('from/to select inclusive local dates; tz moves events across midnight', async () => {
    const utc = await ok('/v1/reports/ad_request?from=2024-05-01&to=2024-05-01&by=&grain=day');
    expect(utc.rows).toEqual([expect.objectContaining({ date: '2024-05-01', requests: 32 })]);
    // In Seoul (UTC+9) only the events of 2024-04-29 before 15:00Z (hours 0-14) fall on that day.
    const seoul = await ok('/v1/reports/ad_request?from=2024-04-29&to=2024-04-29&by=&tz=Asia/Seoul');
    expect(seoul.rows).toEqual([expect.objectContaining({ date: '2024-04-29', requests: 15 })]);
    const days = await ok('/v1/reports/ad_request?by=&tz=Asia/Seoul');
    expect(days.rows.map((r) => r.date)).toEqual([
      '2024-04-29',
      '2024-04-30',
      '2024-05-01',
      '2024-05-02',
      '2024-05-03',
    ]);
    expect(days.totals.requests).toBe(120);
  });

  it('grain: hour, week, month and total', async () => {
    const hour = await ok('/v1/reports/ad_request?by=&grain=hour&from=2024-05-02&to=2024-05-02');
    expect(hour.columns[0]!.name).toBe('hour');
    expect(hour.rows[0]!.hour).toBe('2024-05-02T00:00');
    expect(sumInt(hour.rows, 'requests')).toBe(36);
    const week = await ok('/v1/reports/ad_request?by=&grain=week');
    expect(week.rows.map((r) => r.week)).toEqual(['2024-04-29']);
    const month = await ok('/v1/reports/ad_request?by=&grain=month');
    expect(month.rows.map((r) => [r.month, r.requests])).toEqual([
      ['2024-04', 52],
      ['2024-05', 68],
    ]);
    const total = await ok('/v1/reports/ad_request?by=&grain=total');
    expect(total.rows).toEqual([expect.objectContaining({ period: 'total', requests: 120 })]);
  });

  it('by regroups, extra dimensions included; metrics picks derived metrics', async () => {
    const b = await ok('/v1/reports/ad?grain=total&by=country&metrics=ctr');
    expect(b.columns.map((c) => c.name)).toEqual([
      'period',
      'country',
      'impressions',
      'clicks',
      'conversions',
      'revenue',
      'cost',
      'ctr',
    ]);
    expect(b.rows.map((r) => r.country)).toEqual(['JP', 'KR', 'US']);
    const none = await ok('/v1/reports/ad?grain=total&by=&metrics=');
    expect(none.columns.some((c) => c.kind === 'metric')).toBe(false);
  });

  it('filter keeps the listed values, on any dimension, several at once', async () => {
    const b = await ok('/v1/reports/ad?grain=total&by=media_id&filter=media_id:m1|m3&filter=country:KR');
    expect(b.rows.map((r) => r.media_id)).toEqual(['m1']);
    const all = await ok('/v1/reports/ad?grain=total&by=media_id');
    expect(b.totals.impressions).toBe(all.rows.find((r) => r.media_id === 'm1')!.impressions);
  });

  it('order sorts by any column, limit cuts, totals still cover every row', async () => {
    const b = await ok('/v1/reports/ad?grain=total&by=media_id&order=-revenue&limit=2');
    expect(b.rows).toHaveLength(2);
    expect(micros(b.rows[0]!.revenue)).toBeGreaterThan(micros(b.rows[1]!.revenue));
    const all = await ok('/v1/reports/ad?grain=total&by=media_id');
    expect(b.totals).toEqual(all.totals);
    const asc = await ok('/v1/reports/ad?grain=total&by=media_id&order=ctr');
    expect(Number(asc.rows[0]!.ctr)).toBeLessThanOrEqual(Number(asc.rows[2]!.ctr));
  });

  it('top folds the rest into (other) with measures summed and metrics recomputed', async () => {
    const b = await ok('/v1/reports/ad?grain=total&by=media_id&top=1&order=-impressions');
    const all = await ok('/v1/reports/ad?grain=total&by=media_id&order=-impressions');
    expect(b.rows.map((r) => r.media_id)).toEqual([all.rows[0]!.media_id, '(other)']);
    const other = b.rows[1]!;
    expect(other.impressions).toBe(Number(all.rows[1]!.impressions) + Number(all.rows[2]!.impressions));
    expect(micros(other.revenue)).toBe(micros(all.rows[1]!.revenue) + micros(all.rows[2]!.revenue));
    expect(other.ctr).toBeCloseTo(Number(other.clicks) / Number(other.impressions), 6);
  });

  it('names=true adds names from metadata next to ids', async () => {
    const b = await ok('/v1/reports/ad?grain=total&by=media_id,demand_id&names=true');
    expect(b.columns.slice(1, 5).map((c) => c.name)).toEqual([
      'media_id',
      'media_name',
      'demand_id',
      'demand_name',
    ]);
    expect(b.rows[0]).toMatchObject({
      media_id: 'm1',
      media_name: 'News Web',
      demand_name: 'Alpha Exchange',
    });
  });

  it('compare=previous: the same query over the preceding range, with change in %', async () => {
    const b = await ok('/v1/reports/ad?from=2024-05-01&to=2024-05-02&by=&compare=previous');
    expect(b.compare).toMatchObject({ from: '2024-04-29', to: '2024-04-30' });
    const prev = await ok('/v1/reports/ad?from=2024-04-29&to=2024-04-30&by=');
    expect(b.compare!.totals).toEqual(prev.totals);
    const expected =
      ((Number(b.totals.impressions) - Number(prev.totals.impressions)) / Number(prev.totals.impressions)) *
      100;
    expect(b.compare!.change.impressions).toBeCloseTo(expected, 2);
    expect(b.compare!.change.conversions).toBeNull(); // no conversions before: no change % to give
    const missing = await get('/v1/reports/ad?compare=previous');
    expect(missing.status).toBe(400);
    expect(missing.body.error!.message).toContain('compare');
  });

  it('format=csv: header, dimensions then measures, money with exactly 6 decimals', async () => {
    const r = await get(
      '/v1/reports/ad?from=2024-05-01&to=2024-05-02&grain=total&by=media_id&names=true&format=csv',
    );
    expect(r.status).toBe(200);
    expect(r.type).toContain('text/csv');
    const lines = r.text.trim().split('\n');
    expect(lines[0]).toBe(
      'period,media_id,media_name,impressions,clicks,conversions,revenue,cost,ctr,cvr,ecpm,cpc,cpa',
    );
    expect(lines).toHaveLength(4);
    for (const line of lines.slice(1)) {
      const cells = line.split(',');
      for (const i of [6, 7, 10]) expect(cells[i]).toMatch(/^\d+\.\d{6}$/);
    }
  });

  it('answers 400 naming the parameter for every bad value, 404 for an unknown report', async () => {
    const cases: Array<[string, string]> = [
      ['from=2024-02-30', 'from'],
      ['from=yesterday', 'from'],
      ['to=2024-1-1', 'to'],
      ['from=2024-05-02&to=2024-05-01', 'from'],
      ['tz=Mars/Olympus', 'tz'],
      ['grain=minute', 'grain'],
      ['by=nope', 'by'],
      ['by=media_id,media_id', 'by'],
      ['metrics=roi', 'metrics'],
      ['filter=nope:1', 'filter'],
      ['filter=media_id', 'filter'],
      ['filter=media_id:a&filter=media_id:b', 'filter'],
      ['order=-nope', 'order'],
      ['limit=0', 'limit'],
      ['limit=abc', 'limit'],
      ['top=0', 'top'],
      ['top=3&by=', 'top'],
      ['names=maybe', 'names'],
      ['format=xml', 'format'],
      ['compare=next', 'compare'],
      ['colour=red', 'colour'],
    ];
    for (const [qs, param] of cases) {
      const r = await get(`/v1/reports/ad?${qs}`);
      expect(r.status, qs).toBe(400);
      expect(r.body.error!.code, qs).toBe('ADP_ERR_BAD_PARAM');
      expect(r.body.error!.message, qs).toContain(param);
    }
    const unknown = await get('/v1/reports/nope');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error!.code).toBe('ADP_ERR_REPORT_UNKNOWN');
  });

  it('SQL injection through any parameter: 400 or a correct empty result, never an SQL error or data', async () => {
    const payloads = [
      "' OR '1'='1",
      "x'; DROP TABLE ledger; --",
      '1) UNION SELECT path, NULL FROM ledger --',
      '"media_id"',
      'media_id" FROM ledger --',
      '$tz',
    ];
    for (const p of payloads) {
      const v = encodeURIComponent(p);
      for (const qs of [
        `from=${v}`,
        `to=${v}`,
        `tz=${v}`,
        `grain=${v}`,
        `by=${v}`,
        `metrics=${v}`,
        `order=${v}`,
        `limit=${v}`,
        `top=${v}`,
        `format=${v}`,
        `filter=${v}`,
        `filter=media_id${v}:m1`,
      ]) {
        const r = await get(`/v1/reports/ad?${qs}`);
        expect(r.status, qs).toBe(400);
        // The payload may be echoed back in the message, but no engine error and no stored data.
        expect(r.text, qs).not.toMatch(
          /(Parser|Binder|Catalog|Conversion) Error|events\.jsonl|ADP_ERR_INTERNAL/,
        );
      }
      // A value is only ever a value: nothing matches it.
      const empty = await ok(`/v1/reports/ad?filter=media_id:${v}&filter=country:${v}`);
      expect(empty.rows).toEqual([]);
      expect(empty.totals.impressions).toBeNull();
      const named = await get(`/v1/reports/${v}`);
      expect(named.status).toBe(404);
    }
    const ledger = await server.warehouse.one<{ n: string }>('SELECT count(*)::INTEGER AS n FROM ledger');
    expect(Number(ledger!.n)).toBe(1);
  });
});
