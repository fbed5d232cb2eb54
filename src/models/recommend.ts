// Ad recommendations (seed 001's ALS): implicit-feedback ALS on the user × ad matrix. DuckDB builds
// the matrix — per user and ad, strength = clicks + 2 × conversions over the range — and the
// held-out split (per user with two ads or more, a fifth of their ads, at least one, by hash). JS
// fits the factors, scores precision@K against a popularity baseline, then refits on every
// interaction for the saved model.

import { z } from 'zod';
import { type DateRange, parseParams, resolveRange } from '../analyses/analysis.js';
import { rangeParams } from '../analyses/params.js';
import { select } from '../analyses/sql.js';
import type { Config } from '../config.js';
import { AdpipeError } from '../errors.js';
import { lakeRelation } from '../lake/lake.js';
import { RANGE_END, RANGE_START } from '../reports/query.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import { type AlsOptions, dot, fitAls, type Interaction } from './als.js';

export const PRECISION_AT = 10;

export const recommendParams = rangeParams.extend({
  factors: z.coerce.number().int().min(1).max(200).default(10),
  iterations: z.coerce.number().int().min(1).max(100).default(15),
  // Strong: most users have one or two interactions (chosen on simulator data, docs/analyses.md).
  l2: z.coerce.number().positive().default(100),
  alpha: z.coerce.number().positive().default(10),
  seed: z.coerce.number().int().default(42),
});

export interface RecommendMetrics {
  users: number;
  ads: number;
  interactions: number;
  held_out_interactions: number;
  evaluated_users: number;
  precision_at_10: number;
  popularity_precision_at_10: number;
}

export interface RecommendModel {
  model: 'recommend';
  version: 1;
  trained_at: string;
  range: DateRange;
  options: AlsOptions;
  confidence: string;
  /** Ad ids; item i of the factors and of `seen` is ads[i]. */
  ads: string[];
  ad_factors: number[][];
  users: Record<string, { factors: number[]; seen: number[] }>;
  /** Ad indices by how many users clicked or converted on them, most first, with those counts. */
  popular: Array<[number, number]>;
  metrics: RecommendMetrics;
}

type PairRow = { user_id: string; ad_id: string; strength: string; held_out: boolean };

function matrixSql(lake: string): string {
  return `WITH pairs AS (
  SELECT user_id, ad_id,
    count(*) FILTER (WHERE type = 'click') + 2 * count(*) FILTER (WHERE type = 'conversion') AS strength
  FROM ${lake}
  WHERE type IN ('click', 'conversion') AND coalesce(user_id, '') <> '' AND coalesce(ad_id, '') <> ''
    AND ts >= ${RANGE_START} AND ts < ${RANGE_END}
  GROUP BY ALL
),
ranked AS (
  SELECT *, row_number() OVER (PARTITION BY user_id ORDER BY hash(user_id, ad_id), ad_id) AS k,
    count(*) OVER (PARTITION BY user_id) AS n
  FROM pairs
)
SELECT user_id, ad_id, strength, n >= 2 AND k <= greatest(1, n // 5) AS held_out
FROM ranked ORDER BY user_id, ad_id`;
}

/** Item indices by distinct users, then strength, then index (stable). */
function popularity(interactions: readonly Interaction[], itemCount: number): Array<[number, number]> {
  const users = new Array<number>(itemCount).fill(0);
  const strength = new Array<number>(itemCount).fill(0);
  for (const i of interactions) {
    users[i.item]!++;
    strength[i.item]! += i.strength;
  }
  return users
    .map((n, item) => [item, n] as [number, number])
    .sort((a, b) => b[1] - a[1] || strength[b[0]]! - strength[a[0]]! || a[0] - b[0]);
}

/** The top items of a ranking that are not in `seen`. */
function topUnseen(ranked: Iterable<number>, seen: ReadonlySet<number>, top: number): number[] {
  const out: number[] = [];
  for (const item of ranked) {
    if (out.length === top) break;
    if (!seen.has(item)) out.push(item);
  }
  return out;
}

/** Items by a user's ALS score, best first (ties by index). */
function byScore(userFactors: readonly number[], adFactors: readonly number[][]): number[] {
  const scores = adFactors.map((y) => dot(userFactors, y));
  return scores.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
}

/** Mean precision@K over users with held-out items, for a ranking per user. */
function precisionAt(
  heldOut: ReadonlyMap<number, Set<number>>,
  seen: ReadonlyMap<number, Set<number>>,
  rank: (user: number) => Iterable<number>,
): number {
  let sum = 0;
  for (const [user, items] of heldOut) {
    const top = topUnseen(rank(user), seen.get(user) ?? new Set(), PRECISION_AT);
    sum += top.filter((i) => items.has(i)).length / PRECISION_AT;
  }
  return heldOut.size === 0 ? Number.NaN : sum / heldOut.size;
}

const groupByUser = (interactions: readonly Interaction[]) => {
  const map = new Map<number, Set<number>>();
  for (const { user, item } of interactions) map.set(user, (map.get(user) ?? new Set()).add(item));
  return map;
};

/** Six significant digits are plenty for scores and keep the file small. */
const round6 = (v: number[]) => v.map((x) => Number(x.toPrecision(6)));

export async function trainRecommend(
  wh: Warehouse,
  config: Config,
  raw: Record<string, unknown>,
): Promise<RecommendModel> {
  const { from, to, tz, ...options } = parseParams('model recommend train', recommendParams, raw);
  const lake = await lakeRelation(wh);
  const range = await resolveRange(wh, lake, tz ?? config.tz, { from, to });
  const rows = await select<PairRow>(wh, matrixSql(lake), range);
  const userIds = [...new Set(rows.map((r) => r.user_id))];
  const adIds = [...new Set(rows.map((r) => r.ad_id))].sort();
  if (userIds.length < 2 || adIds.length < 2)
    throw new AdpipeError('ADP_ERR_MODEL_NOTHING_TO_TRAIN', [
      'recommend',
      `${userIds.length} users and ${adIds.length} ads with clicks or conversions in ${range.from} to ${range.to} (${range.tz}); at least 2 of each are needed`,
    ]);
  const userIndex = new Map(userIds.map((u, i) => [u, i]));
  const adIndex = new Map(adIds.map((a, i) => [a, i]));
  const all = rows.map((r) => ({
    user: userIndex.get(r.user_id)!,
    item: adIndex.get(r.ad_id)!,
    strength: Number(r.strength),
    heldOut: r.held_out,
  }));
  const train = all.filter((i) => !i.heldOut);
  const heldOut = groupByUser(all.filter((i) => i.heldOut));
  const trainSeen = groupByUser(train);

  const evaluation = fitAls(userIds.length, adIds.length, train, options);
  const trainPopular = popularity(train, adIds.length).map(([item]) => item);
  const metrics: RecommendMetrics = {
    users: userIds.length,
    ads: adIds.length,
    interactions: all.length,
    held_out_interactions: all.length - train.length,
    evaluated_users: heldOut.size,
    precision_at_10: precisionAt(heldOut, trainSeen, (u) => byScore(evaluation.users[u]!, evaluation.items)),
    popularity_precision_at_10: precisionAt(heldOut, trainSeen, () => trainPopular),
  };

  const final = fitAls(userIds.length, adIds.length, all, options);
  const seen = groupByUser(all);
  return {
    model: 'recommend',
    version: 1,
    trained_at: new Date().toISOString(),
    range,
    options,
    confidence: '1 + alpha × (clicks + 2 × conversions) of the user on the ad; 1 elsewhere, preference 0',
    ads: adIds,
    ad_factors: final.items.map(round6),
    users: Object.fromEntries(
      userIds.map((u, i) => [
        u,
        { factors: round6(final.users[i]!), seen: [...(seen.get(i) ?? [])].sort((a, b) => a - b) },
      ]),
    ),
    popular: popularity(all, adIds.length),
    metrics,
  };
}

export interface Recommendation {
  user: string;
  /** als: the user's factors; popular: a user the model has not seen gets the most popular ads. */
  source: 'als' | 'popular';
  rows: Array<{ rank: number; ad_id: string; score: number }>;
}

/** `adpipe recommend` and GET /v1/recommend: a user and how many ads. */
export const recommendationParams = z.object({
  user: z.string().min(1),
  top: z.coerce.number().int().min(1).max(1000).default(10),
});

/** The top ads a user has not clicked or converted on yet. */
export function recommendFor(model: RecommendModel, user: string, top: number): Recommendation {
  const known = model.users[user];
  if (!known) {
    return {
      user,
      source: 'popular',
      rows: model.popular
        .slice(0, top)
        .map(([item, users], i) => ({ rank: i + 1, ad_id: model.ads[item]!, score: users })),
    };
  }
  const items = topUnseen(byScore(known.factors, model.ad_factors), new Set(known.seen), top);
  return {
    user,
    source: 'als',
    rows: items.map((item, i) => ({
      rank: i + 1,
      ad_id: model.ads[item]!,
      score: Number(dot(known.factors, model.ad_factors[item]!).toPrecision(6)),
    })),
  };
}
