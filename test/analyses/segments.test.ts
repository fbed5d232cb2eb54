// Segments: one user per rule, thresholds from analyses.segments in the config, rules in order.
import { beforeAll, describe, expect, it } from 'vitest';
import { analyze, lakeOf, type TestEvent } from './lake.js';

const RULES = {
  analyses: {
    segments: {
      high_value_conversions: 1,
      high_value_revenue: 10,
      converter_conversions: 0,
      converter_clicks: 1,
      clicker_clicks: 2,
      viewer_impressions: 2,
    },
  },
};

const at = (h: number) => `2025-02-03T${String(h).padStart(2, '0')}:00:00Z`;
const ev = (user_id: string, type: string, h: number, extra: Record<string, string> = {}): TestEvent => ({
  user_id,
  type,
  ts: at(h),
  campaign_id: 'c1',
  ...extra,
});

let dataDir: string;
beforeAll(async () => {
  dataDir = await lakeOf('an-segments', [
    ev('hv', 'conversion', 1, { revenue: '6.000001' }),
    ev('hv', 'conversion', 1, { revenue: '4', campaign_id: 'c2' }), // 10.000001 > 10
    ev('edge', 'conversion', 1, { revenue: '6' }),
    ev('edge', 'conversion', 1, { revenue: '4' }), // exactly 10: not High Value, no clicks: Low Engagement
    ev('conv', 'conversion', 2, { revenue: '50' }),
    ev('conv', 'click', 2),
    ev('conv', 'click', 2),
    ev('clicker', 'click', 3),
    ev('clicker', 'click', 3),
    ev('clicker', 'click', 3),
    ev('viewer', 'impression', 1),
    ev('viewer', 'impression', 5),
    ev('viewer', 'impression', 9),
    ev('low', 'impression', 1),
  ]);
});

const range = { from: '2025-02-03', to: '2025-02-03' };

describe('segments', () => {
  it('puts each user in the first segment whose rule they pass, with config thresholds', async () => {
    const r = await analyze(dataDir, 'segments', range, RULES);
    expect(r.columns.map((c) => c.name).join(',')).toBe(
      'user_id,sessions,events,impressions,clicks,conversions,campaigns,revenue,segment',
    );
    expect(r.rows).toEqual([
      {
        user_id: 'clicker',
        sessions: 1,
        events: 3,
        impressions: 0,
        clicks: 3,
        conversions: 0,
        campaigns: 1,
        revenue: '0.000000',
        segment: 'Active Clicker',
      },
      {
        user_id: 'conv',
        sessions: 1,
        events: 3,
        impressions: 0,
        clicks: 2,
        conversions: 1,
        campaigns: 1,
        revenue: '50.000000',
        segment: 'Active Converter',
      },
      {
        user_id: 'edge',
        sessions: 1,
        events: 2,
        impressions: 0,
        clicks: 0,
        conversions: 2,
        campaigns: 1,
        revenue: '10.000000',
        segment: 'Low Engagement',
      },
      {
        user_id: 'hv',
        sessions: 1,
        events: 2,
        impressions: 0,
        clicks: 0,
        conversions: 2,
        campaigns: 2,
        revenue: '10.000001',
        segment: 'High Value',
      },
      {
        user_id: 'low',
        sessions: 1,
        events: 1,
        impressions: 1,
        clicks: 0,
        conversions: 0,
        campaigns: 1,
        revenue: '0.000000',
        segment: 'Low Engagement',
      },
      {
        user_id: 'viewer',
        sessions: 3,
        events: 3,
        impressions: 3,
        clicks: 0,
        conversions: 0,
        campaigns: 1,
        revenue: '0.000000',
        segment: 'Viewer',
      },
    ]);
  });

  it('sums users and exact revenue per segment with --summary, in rule order', async () => {
    const r = await analyze(dataDir, 'segments', { ...range, summary: true }, RULES);
    expect(r.rows).toEqual([
      { segment: 'High Value', users: 1, revenue: '10.000001' },
      { segment: 'Active Converter', users: 1, revenue: '50.000000' },
      { segment: 'Active Clicker', users: 1, revenue: '0.000000' },
      { segment: 'Viewer', users: 1, revenue: '0.000000' },
      { segment: 'Low Engagement', users: 2, revenue: '10.000000' },
    ]);
  });

  it("uses the seed's thresholds by default", async () => {
    const r = await analyze(dataDir, 'segments', { ...range, summary: 'true' });
    expect(r.rows).toEqual([{ segment: 'Low Engagement', users: 6, revenue: '70.000001' }]);
  });
});
