// Rule-based attribution (seed 001, and the models of Google's attribution reports): each
// conversion's credit (1 conversion and its revenue) is shared among the same user's impressions
// and clicks in [conversion − lookback, conversion], ordered by ts then event_id. Shares are
// rounded to micro-units and the remainder goes to the largest share (the earliest of equal
// ones), so each conversion's credits sum to exactly 1 and to exactly its revenue.

import { z } from 'zod';
import { RANGE_END, RANGE_START } from '../reports/query.js';
import { col, defineAnalysis } from './analysis.js';
import { duration, rangeParams } from './params.js';
import { fromMicros, select, toMicros } from './sql.js';

export const MODELS = ['first', 'last', 'linear', 'time-decay', 'position'] as const;
export type Model = (typeof MODELS)[number];

/** A conversion no touch preceded within the lookback. */
export const NO_TOUCH = '(none)';
/** A touch that names no campaign. */
export const NO_CAMPAIGN = '(unknown)';

/** The raw weight of touch n of `touches` (1-based); shares are weights over their conversion's sum. */
function weight(model: Model): string {
  switch (model) {
    case 'first':
      return 'CASE WHEN n = 1 THEN 1 ELSE 0 END';
    case 'last':
      return 'CASE WHEN n = touches THEN 1 ELSE 0 END';
    case 'linear':
      return '1';
    case 'time-decay':
      return 'pow(2, -(epoch_us(conv_ts) - epoch_us(touch_ts)) / $half_life)';
    case 'position':
      // One touch takes all, two share equally; else 40 % each end, 20 % over the middle.
      return 'CASE WHEN touches <= 2 THEN 1 WHEN n = 1 OR n = touches THEN 0.4 ELSE 0.2 / (touches - 2) END';
  }
}

export const attribution = defineAnalysis({
  name: 'attribution',
  title: 'Conversions and revenue credited to campaigns by a rule-based attribution model',
  params: rangeParams.extend({
    model: z.enum(MODELS).default('last'),
    lookback: duration.prefault('24h'),
    half_life: duration.prefault('7d'),
  }),
  async run({ wh, activity, range }, { model, lookback, half_life }) {
    const sql = `WITH conv AS (
  SELECT event_id AS conv_id, user_id, ts AS conv_ts, ${toMicros('coalesce(revenue, 0)')} AS rev
  FROM ${activity.conversions} WHERE ts >= ${RANGE_START} AND ts < ${RANGE_END}
),
touch AS (
  SELECT user_id, event_id, ts, coalesce(campaign_id, '${NO_CAMPAIGN}') AS campaign FROM ${activity.touches}
  WHERE ts >= ${RANGE_START} - to_microseconds($lookback) AND ts < ${RANGE_END}
),
paths AS (
  SELECT conv_id, conv_ts, rev, t.ts AS touch_ts, coalesce(t.campaign, '${NO_TOUCH}') AS campaign_id,
    row_number() OVER (PARTITION BY conv_id ORDER BY t.ts, t.event_id) AS n,
    count(t.event_id) OVER (PARTITION BY conv_id) AS touches
  FROM conv c LEFT JOIN touch t
    ON t.user_id = c.user_id AND t.ts BETWEEN c.conv_ts - to_microseconds($lookback) AND c.conv_ts
),
weighted AS (SELECT *, CASE WHEN touches = 0 THEN 1 ELSE ${weight(model)} END::DOUBLE AS w FROM paths),
shares AS (
  SELECT *, w / sum(w) OVER (PARTITION BY conv_id) AS f FROM weighted QUALIFY w > 0
),
rounded AS (
  SELECT *, round(f * 1000000)::BIGINT AS c, round(f * rev::DOUBLE)::HUGEINT AS r,
    row_number() OVER (PARTITION BY conv_id ORDER BY f DESC, n) AS rank
  FROM shares
),
credited AS (
  SELECT campaign_id,
    c + CASE WHEN rank = 1 THEN 1000000 - sum(c) OVER (PARTITION BY conv_id) ELSE 0 END AS c,
    r + CASE WHEN rank = 1 THEN rev - sum(r) OVER (PARTITION BY conv_id) ELSE 0 END AS r
  FROM rounded
)
SELECT campaign_id, ${fromMicros('sum(c)')} AS conversions, ${fromMicros('sum(r)')} AS revenue
FROM credited GROUP BY campaign_id ORDER BY campaign_id`;
    const [total] = await select<{ n: string }>(
      wh,
      `SELECT count(*) AS n FROM ${activity.conversions} WHERE ts >= ${RANGE_START} AND ts < ${RANGE_END}`,
      range,
    );
    return {
      columns: [col.dim('campaign_id'), col.decimal('conversions'), col.decimal('revenue')],
      rows: await select(wh, sql, { ...range, lookback, half_life }),
      meta: {
        model,
        lookback_seconds: lookback / 1e6,
        ...(model === 'time-decay' ? { half_life_seconds: half_life / 1e6 } : {}),
        conversions: Number(total?.n ?? 0),
      },
    };
  },
});
