// Numbers an ad-ops person trusts: revenue is ad revenue (impressions and clicks), a conversion's
// money is the advertiser's conversion value; partner calls are counted apart from the publisher's
// ad requests; a data dir whose rollups were built by an older report model is rebuilt from the lake.

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lakeRelation } from '../../src/lake/lake.js';
import { loadMetadata } from '../../src/pipeline/metadata.js';
import { verifyWarehouse } from '../../src/pipeline/verify-warehouse.js';
import { runReport, runReportTotals } from '../../src/reports/query.js';
import { generate } from '../../src/simulator/index.js';
import { Warehouse } from '../../src/warehouse/warehouse.js';
import { micros } from '../helpers/money.js';
import { makeTempDir } from '../helpers/tmp.js';
import { readLines } from '../simulator/files.js';
import { ingestInProcess, runCli, withWarehouse } from './fixtures.js';

const root = makeTempDir('revenue');

describe('a worked example with conversions', () => {
  const data = path.join(root, 'worked');
  const at = (min: number) => `2026-03-01T10:${String(min).padStart(2, '0')}:00.000Z`;
  const base = { campaign_id: 'c1', demand_id: 'd1', ad_id: 'a1', media_id: 'm1' };
  // Two impressions earning $0.004 and $0.006, one click costing $0.50, one conversion of an
  // order worth $120 (its cost of $0.25 a CPA fee).
  const events = [
    { event_id: 'i1', type: 'impression', ts: at(0), revenue: '0.004', ...base },
    { event_id: 'i2', type: 'impression', ts: at(1), revenue: '0.006', ...base },
    { event_id: 'k1', type: 'click', ts: at(2), cost: '0.5', ...base },
    { event_id: 'v1', type: 'conversion', ts: at(30), revenue: '120', cost: '0.25', ...base },
  ];

  it('gives eCPM from ad revenue only and ROAS from conversion value', async () => {
    const file = path.join(root, 'worked.jsonl');
    writeFileSync(file, `${events.map((e) => JSON.stringify(e)).join('\n')}\n`);
    await ingestInProcess(data, [file]);
    await withWarehouse(data, async (wh) => {
      const campaign = await runReportTotals(wh, { report: 'campaign', metrics: true, grain: 'total' });
      expect(campaign).toMatchObject({
        impressions: 2,
        clicks: 1,
        conversions: 1,
        revenue: '0.010000',
        cost: '0.750000',
        conversion_value: '120.000000',
        ecpm: 5,
        cpc: 0.75,
        cpa: 0.75,
        roas: 160,
      });
      const ad = await runReportTotals(wh, { report: 'ad', metrics: true, grain: 'total' });
      expect(ad).toMatchObject({ revenue: '0.010000', cost: '0.500000', conversions: 1, ecpm: 5 });
      const media = await runReportTotals(wh, { report: 'media', metrics: true, grain: 'total' });
      expect(media).toMatchObject({ gross_revenue: '0.010000', ecpm: 5 });
    });
  });
});

describe('a media share history', () => {
  const data = path.join(root, 'shares');
  const meta = path.join(root, 'shares-meta');
  const writeMedia = (lines: string[]) => {
    mkdirSync(meta, { recursive: true });
    writeFileSync(path.join(meta, 'media.csv'), `${lines.join('\n')}\n`);
  };
  const mediaByDay = async (wh: Warehouse) =>
    (await runReport(wh, { report: 'media', by: ['media_id'] })).rows.map((r) => [r.date, r.media_revenue]);

  it('uses the share in force each day, takes names from the latest row, refuses a bad date', async () => {
    const file = path.join(root, 'shares.jsonl');
    const day = (d: number) =>
      JSON.stringify({
        event_id: `s${d}`,
        type: 'impression',
        ts: `2026-03-0${d}T12:00:00Z`,
        media_id: 'm1',
        revenue: '1',
      });
    writeFileSync(file, `${[1, 2, 3].map(day).join('\n')}\n`);
    writeMedia([
      'media_id,name,org_id,media_share,valid_from',
      'm1,Old name,o1,0.5,2026-01-01',
      'm1,Newest name,o1,0.7,2026-03-03',
      'm1,Middle name,o1,0.6,2026-03-02',
    ]);
    await ingestInProcess(data, [file], { metadata: meta });
    await withWarehouse(data, async (wh) => {
      expect(await mediaByDay(wh)).toEqual([
        ['2026-03-01', '0.500000'],
        ['2026-03-02', '0.600000'],
        ['2026-03-03', '0.700000'],
      ]);
      expect(await wh.one('SELECT name FROM dim_media')).toEqual({ name: 'Newest name' });
      // Undated and changed: from the ingest day on, earlier days keep theirs.
      writeMedia(['media_id,name,org_id,media_share', 'm1,Newest name,o1,0.9']);
      await loadMetadata(wh, meta, { today: '2026-03-03' });
      expect((await mediaByDay(wh)).map((r) => r[1])).toEqual(['0.500000', '0.600000', '0.900000']);
      writeMedia(['media_id,name,org_id,media_share,valid_from', 'm1,Newest name,o1,0.9,March 3']);
      await expect(loadMetadata(wh, meta)).rejects.toMatchObject({ code: 'ADP_ERR_SOURCE_UNREADABLE' });
    });
  });
});

describe('a generated day', () => {
  const gen = path.join(root, 'gen');
  const data = path.join(root, 'gen-data');

  it('shows eCPMs in the simulator’s documented range and a fill rate for every partner', async () => {
    const manifest = await generate({ out: gen, events: 20_000, seed: 9, hours: 24, files: 2 });
    await ingestInProcess(
      data,
      manifest.files.map((f) => path.join(gen, 'events', f.name)),
      { metadata: path.join(gen, 'metadata'), batchFiles: 1 },
    );
    // Independent counts over the generated lines.
    const count = { publisher: 0, calls: new Map<string, number>() };
    let adMicros = 0n;
    let impressions = 0;
    for (const f of readLines(gen))
      for (const line of f.lines) {
        const e = JSON.parse(line) as Record<string, string>;
        if (e.type === 'request' && !e.demand_id) count.publisher++;
        if (e.type === 'request' && e.demand_id)
          count.calls.set(e.demand_id, (count.calls.get(e.demand_id) ?? 0) + 1);
        if (e.type === 'impression') impressions++;
        if (e.type === 'impression' || e.type === 'click') adMicros += micros(e.revenue);
      }
    await withWarehouse(data, async (wh) => {
      const totals = await runReportTotals(wh, { report: 'ad', metrics: true, grain: 'total' });
      expect(totals.impressions).toBe(impressions);
      expect(micros(totals.revenue)).toBe(adMicros);
      // docs/simulator.md: eCPMs of $1-10 by country.
      expect(totals.ecpm).toBeGreaterThan(1);
      expect(totals.ecpm).toBeLessThan(10);
      const byCountry = await runReport(wh, {
        report: 'demand',
        by: ['country'],
        metrics: true,
        grain: 'total',
      });
      for (const r of byCountry.rows) {
        expect(r.ecpm, String(r.country)).toBeGreaterThanOrEqual(1);
        expect(r.ecpm, String(r.country)).toBeLessThanOrEqual(10);
      }

      const requests = await runReportTotals(wh, { report: 'ad_request', grain: 'total', by: ['org_id'] });
      expect(requests.requests).toBe(count.publisher);
      const demand = await runReport(wh, { report: 'demand', metrics: true, grain: 'total' });
      expect(demand.rows.map((r) => r.demand_id).sort()).toEqual([...count.calls.keys()].sort());
      for (const r of demand.rows) {
        expect(r.requests).toBe(count.calls.get(String(r.demand_id)));
        expect(r.fill_rate, String(r.demand_id)).toBeGreaterThan(0);
        expect(r.fill_rate, String(r.demand_id)).toBeLessThan(1);
        expect((r.fill_rate as number) + (r.passback_rate as number)).toBeCloseTo(1, 2);
      }
    });
  }, 60_000);

  it('rebuilds rollups made by an older report model from the lake, batch tags kept', async () => {
    // The old shape: no fingerprints, campaign without conversion_value and every money event in revenue.
    const wh = await Warehouse.open(data);
    try {
      const lake = await lakeRelation(wh);
      await wh.run('DROP TABLE rollup_fingerprints');
      await wh.run('DROP TABLE rollup_campaign');
      await wh.run(`CREATE TABLE rollup_campaign (
        batch_id BIGINT NOT NULL, bucket TIMESTAMPTZ NOT NULL, campaign_id VARCHAR NOT NULL,
        country VARCHAR NOT NULL, device VARCHAR NOT NULL, ad_format VARCHAR NOT NULL,
        impressions BIGINT NOT NULL, clicks BIGINT NOT NULL, conversions BIGINT NOT NULL,
        cost DECIMAL(18,6) NOT NULL, revenue DECIMAL(18,6) NOT NULL)`);
      await wh.run(`INSERT INTO rollup_campaign SELECT batch_id, to_timestamp((epoch_ms(ts) // 900000) * 900),
        coalesce(campaign_id, ''), coalesce(country, ''), coalesce(device, ''), coalesce(ad_format, ''),
        count(*) FILTER (WHERE type = 'impression'), count(*) FILTER (WHERE type = 'click'),
        count(*) FILTER (WHERE type = 'conversion'), coalesce(sum(cost), 0), coalesce(sum(revenue), 0)
        FROM ${lake} GROUP BY ALL`);
    } finally {
      wh.close();
    }
    // A reader cannot rebuild: it says which command does.
    const read = await runCli(data, ['report', 'campaign']);
    expect(read.code).not.toBe(0);
    // No fingerprints at all: every rollup is from before them.
    expect(read.stderr).toContain(
      'ADP_ERR_WAREHOUSE_ROLLUP_MODEL: rollups of ad, ad_request, demand, media, campaign',
    );
    expect(read.stderr).toContain('adpipe compact');
    await withWarehouse(data, async (wh) => {
      const cols = await wh.all<{ column_name: string }>(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'rollup_campaign'",
      );
      expect(cols.map((c) => c.column_name)).toContain('conversion_value');
      expect((await verifyWarehouse(wh)).ok).toBe(true);
      const batches = await wh.all<{ b: string }>(
        'SELECT DISTINCT batch_id::VARCHAR AS b FROM rollup_campaign ORDER BY 1',
      );
      expect(batches.map((b) => b.b)).toEqual(['1', '2']);
      const totals = await runReportTotals(wh, { report: 'campaign', grain: 'total', metrics: true });
      expect(micros(totals.conversion_value)).toBeGreaterThan(0n);
      expect(totals.roas).toBeGreaterThan(1);
    });
  });
});
