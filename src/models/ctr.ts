// The CTR model (seeds 001 and 004): logistic regression on hashed one-hot features of an
// impression. DuckDB labels impressions (clicked: the same user clicked the same ad within
// CLICK_WINDOW after it), hashes each `feature=value` into 2^bits buckets and aggregates impressions
// and clicks per bucket combination — binomial rows, exact and far fewer than impressions. JS fits
// the weights on those rows (Newton/IRLS) and scores the held-out users' rows.

import { z } from 'zod';
import { type DateRange, parseParams, resolveRange } from '../analyses/analysis.js';
import { rangeParams } from '../analyses/params.js';
import { select } from '../analyses/sql.js';
import type { Config } from '../config.js';
import { AdpipeError } from '../errors.js';
import type { AdEvent } from '../events/contract.js';
import { lakeRelation } from '../lake/lake.js';
import { RANGE_END, RANGE_START } from '../reports/query.js';
import { sqlString } from '../warehouse/quote.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import { type BinomialRow, fitLogistic, linearScore, sigmoid } from './logistic.js';
import { auc, type CalibrationBin, calibration, logLoss } from './metrics.js';

export const CTR_FEATURES = [
  'ad_format',
  'country',
  'device',
  'os',
  'app_type',
  'media_id',
  'hour_utc',
] as const;
export type CtrFeature = (typeof CTR_FEATURES)[number];

/** Each feature's value over a relation with the lake's columns ('' when missing: a value of its own). */
const VALUE_SQL: Record<CtrFeature, string> = {
  ad_format: "coalesce(ad_format, '')",
  country: "coalesce(country, '')",
  device: "coalesce(device, '')",
  os: "coalesce(os, '')",
  app_type: "coalesce(app_type, '')",
  media_id: "coalesce(media_id, '')",
  hour_utc: "hour(timezone('UTC', ts))::VARCHAR",
};

/** A click this long after an impression of the same ad to the same user is that impression's click. */
const CLICK_WINDOW_S = 60;
/** Users whose hash falls in this share are held out of the fit and score it. */
const HELD_OUT_MOD = 5;

/** The bucket of each feature as b_<feature>: DuckDB's hash of `name=value`, modulo 2^bits. */
function bucketColumns(bits: number): string {
  return CTR_FEATURES.map(
    (f) => `(hash(${sqlString(`${f}=`)} || ${VALUE_SQL[f]}) % ${2 ** bits})::INTEGER AS b_${f}`,
  ).join(', ');
}

export const ctrParams = rangeParams.extend({
  l2: z.coerce.number().positive().default(1),
  bits: z.coerce.number().int().min(8).max(18).default(18),
});

export interface CtrMetrics {
  train: { impressions: number; clicks: number; rows: number };
  held_out: { impressions: number; clicks: number; rows: number };
  base_rate: number;
  log_loss: number;
  base_log_loss: number;
  auc: number;
  calibration: CalibrationBin[];
  iterations: number;
}

export interface CtrModel {
  model: 'ctr';
  version: 1;
  trained_at: string;
  range: DateRange;
  features: {
    names: readonly CtrFeature[];
    hashing: string;
    bits: number;
    label: string;
    split: string;
  };
  l2: number;
  intercept: number;
  /** Weight by bucket, for the buckets seen in training (others weigh 0). */
  weights: Record<string, number>;
  metrics: CtrMetrics;
}

type AggregateRow = Record<`b_${CtrFeature}`, number> & {
  held_out: boolean;
  impressions: string;
  clicks: string;
};

function trainingSql(lake: string, bits: number): string {
  return `WITH imp AS MATERIALIZED (
  SELECT event_id, user_id, ad_id, ts, ${bucketColumns(bits)} FROM ${lake}
  WHERE type = 'impression' AND coalesce(user_id, '') <> '' AND coalesce(ad_id, '') <> ''
    AND ts >= ${RANGE_START} AND ts < ${RANGE_END}
),
clk AS (
  SELECT user_id, ad_id, ts FROM ${lake}
  WHERE type = 'click' AND ts >= ${RANGE_START} AND ts < ${RANGE_END} + INTERVAL ${CLICK_WINDOW_S} SECOND
),
-- Each click goes to the latest impression of its ad to its user: bursts of clicks count once.
clicked AS (
  SELECT DISTINCT imp.event_id FROM clk ASOF JOIN imp
    ON clk.user_id = imp.user_id AND clk.ad_id = imp.ad_id AND clk.ts >= imp.ts
  WHERE clk.ts <= imp.ts + INTERVAL ${CLICK_WINDOW_S} SECOND
)
SELECT hash(imp.user_id) % ${HELD_OUT_MOD} = 0 AS held_out, ${CTR_FEATURES.map((f) => `b_${f}`).join(', ')},
  count(*) AS impressions, count(clicked.event_id) AS clicks
FROM imp LEFT JOIN clicked USING (event_id)
GROUP BY ALL ORDER BY ALL`;
}

const bucketsOf = (row: Record<`b_${CtrFeature}`, number>) => CTR_FEATURES.map((f) => row[`b_${f}`]);

export async function trainCtr(
  wh: Warehouse,
  config: Config,
  raw: Record<string, unknown>,
): Promise<CtrModel> {
  const params = parseParams('model ctr train', ctrParams, raw);
  const lake = await lakeRelation(wh);
  const range = await resolveRange(wh, lake, params.tz ?? config.tz, params);
  const rows = await select<AggregateRow>(wh, trainingSql(lake, params.bits), range);
  const train = rows.filter((r) => !r.held_out);
  const heldOut = rows.filter((r) => r.held_out);
  const totals = (rs: AggregateRow[]) => ({
    impressions: rs.reduce((s, r) => s + Number(r.impressions), 0),
    clicks: rs.reduce((s, r) => s + Number(r.clicks), 0),
    rows: rs.length,
  });
  const trainTotals = totals(train);
  const span = `${range.from} to ${range.to} (${range.tz})`;
  if (trainTotals.clicks === 0 || trainTotals.clicks === trainTotals.impressions)
    throw new AdpipeError('ADP_ERR_MODEL_NOTHING_TO_TRAIN', [
      'ctr',
      `${trainTotals.impressions} impressions and ${trainTotals.clicks} clicks in ${span}; both clicked and unclicked impressions are needed`,
    ]);

  // Dense indices for the buckets training saw; 0 is the intercept.
  const index = new Map<number, number>();
  for (const r of train) for (const b of bucketsOf(r)) if (!index.has(b)) index.set(b, index.size + 1);
  const binomial = (r: AggregateRow): BinomialRow => ({
    active: bucketsOf(r).flatMap((b) => (index.has(b) ? [index.get(b)!] : [])),
    trials: Number(r.impressions),
    successes: Number(r.clicks),
  });
  const fit = fitLogistic(train.map(binomial), index.size + 1, params.l2);
  const baseRate = trainTotals.clicks / trainTotals.impressions;
  const scored = heldOut
    .map(binomial)
    .map((r) => ({ ...r, predicted: sigmoid(linearScore(fit.weights, r.active)) }));
  return {
    model: 'ctr',
    version: 1,
    trained_at: new Date().toISOString(),
    range,
    features: {
      names: CTR_FEATURES,
      hashing: `DuckDB hash('<name>=<value>') % 2^bits; missing values are ''; hour_utc is the UTC hour of ts`,
      bits: params.bits,
      label: `an impression is clicked when the same user clicks the same ad within ${CLICK_WINDOW_S} s (the latest such impression takes the click)`,
      split: `users with DuckDB hash(user_id) % ${HELD_OUT_MOD} = 0 are held out`,
    },
    l2: params.l2,
    intercept: fit.weights[0]!,
    weights: Object.fromEntries([...index].map(([bucket, i]) => [String(bucket), fit.weights[i]!])),
    metrics: {
      train: trainTotals,
      held_out: totals(heldOut),
      base_rate: baseRate,
      log_loss: logLoss(scored),
      base_log_loss: logLoss(scored.map((r) => ({ ...r, predicted: baseRate }))),
      auc: auc(scored),
      calibration: calibration(scored),
      iterations: fit.iterations,
    },
  };
}

/** The event's features as the lake would hold them (validated and normalised by the caller). */
export type CtrEvent = Pick<
  AdEvent,
  'ts' | 'ad_format' | 'country' | 'device' | 'os' | 'app_type' | 'media_id'
>;

/** The model's click probability for an impression with these features. */
export async function predictCtr(wh: Warehouse, model: CtrModel, event: CtrEvent): Promise<number> {
  const fields = CTR_FEATURES.filter((f) => f !== 'hour_utc');
  const one = `(SELECT ${fields.map((f) => `$${f}::VARCHAR AS ${f}`).join(', ')}, $ts::TIMESTAMPTZ AS ts)`;
  const params = Object.fromEntries(fields.map((f) => [f, event[f] ?? '']));
  const [row] = await select<Record<`b_${CtrFeature}`, number>>(
    wh,
    `SELECT ${bucketColumns(model.features.bits)} FROM ${one}`,
    { ...params, ts: event.ts },
  );
  let z = model.intercept;
  for (const b of bucketsOf(row!)) z += model.weights[String(b)] ?? 0;
  return sigmoid(z);
}
