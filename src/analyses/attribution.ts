// Rule-based attribution (seed 001, and the models of Google's attribution reports): each
// conversion's credit (1 conversion and its revenue) is shared among the same user's impressions
// and clicks in [conversion − lookback, conversion], ordered by ts then event_id. Shares are
// rounded to micro-units and the remainder goes to the largest share (the earliest of equal
// ones), so each conversion's credits sum to exactly 1 and to exactly its revenue.

import { z } from 'zod';
import { microsSql, moneySql } from '../money.js';
import { RANGE_END, RANGE_START } from '../reports/query.js';
import { sqlString } from '../warehouse/quote.js';
import { col, defineAnalysis } from './analysis.js';
import { duration, rangeParams } from './params.js';
import { select } from './sql.js';

export const MODELS = ['first', 'last', 'linear', 'time-decay', 'position'] as const;
export type Model = (typeof MODELS)[number];

/** A conversion no touch preceded within the lookback. */
export const NO_TOUCH = '(none)';
/** A touch that names no campaign. */
export const NO_CAMPAIGN = '(unknown)';

/**
 * Per model: a touch's raw weight, the sum of the weights of its conversion's touches, and which
 * touch has the largest share (the earliest of equal ones), from the touch's place among them
 * (is_first, is_last, touches) — no numbering of the touches, so no sort of every path. Closed-form
 * sums also make the shares exact and the same in any row order.
 */
interface Rule {
  weight: string;
  sum: string;
  top: string;
}

function rule(model: Model): Rule {
  switch (model) {
    case 'first':
      return { weight: 'is_first::INT', sum: '1', top: 'is_first' };
    case 'last':
      return { weight: 'is_last::INT', sum: '1', top: 'is_last' };
    case 'linear':
      return { weight: '1', sum: 'touches', top: 'is_first' };
    case 'time-decay':
      // Later touches weigh more: the largest share is the latest, the smallest event_id of equal ts.
      return { weight: DECAY, sum: 'decay_sum', top: 'latest = latest_key' };
    case 'position':
      // One touch takes all, two share equally; else 40 % each end, 20 % over the middle.
      return {
        weight:
          'CASE WHEN touches <= 2 THEN 1 WHEN is_first OR is_last THEN 0.4 ELSE 0.2 / (touches - 2) END',
        sum: 'CASE WHEN touches <= 2 THEN touches ELSE 1 END',
        top: 'is_first',
      };
  }
}

const DECAY = 'pow(2, -(epoch_us(conv_ts) - epoch_us(touch_ts)) / $half_life)';

export const attribution = defineAnalysis({
  name: 'attribution',
  title: 'Conversions and revenue credited to campaigns by a rule-based attribution model',
  params: rangeParams.extend({
    model: z.enum(MODELS).default('last'),
    lookback: duration.prefault('24h'),
    half_life: duration.prefault('7d'),
  }),
  async run({ wh, activity, range }, { model, lookback, half_life }) {
    const r = rule(model);
    const sql = `WITH conv AS (
  SELECT event_id AS conv_id, user_id, ts AS conv_ts, ${microsSql('coalesce(revenue, 0)')} AS rev
  FROM ${activity.conversions} WHERE ts >= ${RANGE_START} AND ts < ${RANGE_END}
),
touch AS (
  SELECT user_id, event_id, ts, coalesce(campaign_id, ${sqlString(NO_CAMPAIGN)}) AS campaign FROM ${activity.touches}
  WHERE ts >= ${RANGE_START} - to_microseconds($lookback) AND ts < ${RANGE_END}
),
paths AS (
  SELECT conv_id, conv_ts, rev, t.ts AS touch_ts, t.event_id AS touch_id,
    coalesce(t.campaign, ${sqlString(NO_TOUCH)}) AS campaign_id,
    {'ts': epoch_us(t.ts), 'id': t.event_id} AS k, {'ts': -epoch_us(t.ts), 'id': t.event_id} AS latest
  FROM conv c LEFT JOIN touch t
    ON t.user_id = c.user_id AND t.ts BETWEEN c.conv_ts - to_microseconds($lookback) AND c.conv_ts
),
ends AS (
  SELECT conv_id, count(touch_id) AS touches, min(k) AS first_key, max(k) AS last_key,
    ${model === 'time-decay' ? `sum(${DECAY}) AS decay_sum, min(latest) AS latest_key` : ''}
  FROM paths GROUP BY conv_id
),
placed AS (
  SELECT *, k = first_key AS is_first, k = last_key AS is_last FROM paths JOIN ends USING (conv_id)
),
rounded AS (
  SELECT conv_id, rev, campaign_id, touches = 0 OR ${r.top} AS top,
    CASE WHEN touches = 0 THEN 1 ELSE (${r.weight}) / (${r.sum}) END::DOUBLE AS f,
    round(f * 1000000)::BIGINT AS c, round(f * rev::DOUBLE)::HUGEINT AS r
  FROM placed WHERE touches = 0 OR ${r.weight} > 0
),
-- Each conversion's remainder of rounding goes to its largest share.
credited AS (
  SELECT campaign_id, c, r FROM rounded
  UNION ALL
  SELECT any_value(campaign_id) FILTER (WHERE top), 1000000 - sum(c), any_value(rev) - sum(r)
  FROM rounded GROUP BY conv_id
)
SELECT campaign_id, ${moneySql('sum(c)')} AS conversions, ${moneySql('sum(r)')} AS revenue
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
