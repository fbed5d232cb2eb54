// User segments (seed 001): per user activity over the range and the first rule of the seed's list
// the user passes. Thresholds come from `analyses.segments` in adpipe.yaml.

import type { SegmentRules } from '../config.js';
import { RANGE_END, RANGE_START } from '../reports/query.js';
import { sqlString } from '../warehouse/quote.js';
import { pointsOf } from './activity.js';
import { col, defineAnalysis } from './analysis.js';
import { duration, flag, rangeParams } from './params.js';
import { DEFAULT_GAP, sessionsOf } from './sessions.js';
import { select, userEvents } from './sql.js';

export const SEGMENTS = [
  'High Value',
  'Active Converter',
  'Active Clicker',
  'Viewer',
  'Low Engagement',
] as const;

/** The rules in order as one CASE; thresholds are bound parameters. */
function segmentCase(): string {
  return `CASE
    WHEN conversions > $hv_conversions AND revenue > $hv_revenue::DECIMAL(38,6) THEN ${sqlString(SEGMENTS[0])}
    WHEN conversions > $ac_conversions AND clicks > $ac_clicks THEN ${sqlString(SEGMENTS[1])}
    WHEN clicks > $clicker_clicks THEN ${sqlString(SEGMENTS[2])}
    WHEN impressions > $viewer_impressions THEN ${sqlString(SEGMENTS[3])}
    ELSE ${sqlString(SEGMENTS[4])} END`;
}

function thresholds(r: SegmentRules) {
  return {
    hv_conversions: r.high_value_conversions,
    hv_revenue: String(r.high_value_revenue),
    ac_conversions: r.converter_conversions,
    ac_clicks: r.converter_clicks,
    clicker_clicks: r.clicker_clicks,
    viewer_impressions: r.viewer_impressions,
  };
}

export const segments = defineAnalysis({
  name: 'segments',
  title: 'Per-user activity and segment (High Value … Low Engagement), or users and revenue per segment',
  params: rangeParams.extend({ gap: duration.prefault(DEFAULT_GAP), summary: flag.default(false) }),
  async run({ wh, config, lake, range }, { gap, summary }) {
    const events = `(SELECT * FROM ${userEvents(lake)} WHERE ts >= ${RANGE_START} AND ts < ${RANGE_END})`;
    const users = `WITH ev AS MATERIALIZED ${events},
activity AS (
  SELECT user_id, count(*) AS events, count(*) FILTER (WHERE type = 'impression') AS impressions,
    count(*) FILTER (WHERE type = 'click') AS clicks, count(*) FILTER (WHERE type = 'conversion') AS conversions,
    count(DISTINCT campaign_id) AS campaigns, sum(revenue)::DECIMAL(38,6) AS revenue
  FROM ev GROUP BY user_id
),
users AS (
  SELECT user_id, sessions, events, impressions, clicks, conversions, campaigns, revenue, ${segmentCase()} AS segment
  FROM activity JOIN (SELECT user_id, count(*) AS sessions FROM ${sessionsOf(pointsOf('ev'))} GROUP BY user_id) USING (user_id)
)`;
    const params = { ...range, gap, ...thresholds(config.analyses.segments) };
    if (summary) {
      const order = SEGMENTS.map((s, i) => `WHEN ${sqlString(s)} THEN ${i}`).join(' ');
      const sql = `${users}
SELECT segment, count(*) AS users, sum(revenue)::DECIMAL(38,6) AS revenue FROM users
GROUP BY segment ORDER BY CASE segment ${order} END`;
      return {
        columns: [col.dim('segment'), col.count('users'), col.decimal('revenue')],
        rows: await select(wh, sql, params),
        meta: { rules: config.analyses.segments },
      };
    }
    return {
      columns: [
        col.dim('user_id'),
        ...['sessions', 'events', 'impressions', 'clicks', 'conversions', 'campaigns'].map((c) =>
          col.count(c),
        ),
        col.decimal('revenue'),
        col.dim('segment'),
      ],
      rows: await select(wh, `${users} SELECT * FROM users ORDER BY user_id`, params),
      meta: { rules: config.analyses.segments },
    };
  },
});
