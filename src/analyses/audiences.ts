// Audiences (seed 001): K-means over users. SQL aggregates each user's events, impressions, clicks,
// conversions and revenue over the range and standardises them (z-scores, as Spark's StandardScaler
// with centring); JS only clusters those rows. Cluster averages are exact: integer sums, revenue in
// micro-units, rounded half up to 6 decimals.

import { z } from 'zod';
import { divRound, formatMicros, MICROS, microsSql } from '../money.js';
import { RANGE_END, RANGE_START } from '../reports/query.js';
import { type AnalysisColumn, col, defineAnalysis, type Row } from './analysis.js';
import { kMeans } from './kmeans.js';
import { rangeParams } from './params.js';
import { select, userEvents } from './sql.js';

const FEATURES = ['events', 'impressions', 'clicks', 'conversions', 'revenue'] as const;
type Feature = (typeof FEATURES)[number];

type UserRow = Record<Feature, string> & Record<`z_${Feature}`, number>;

/** A count from the query string or the CLI (both strings) or a number. */
const positiveInt = (max: number) => z.coerce.number().int().min(1).max(max);

/** Per user: the raw features (revenue as integer micro-units) and their z-scores over all users. */
function userFeaturesSql(lake: string): string {
  const zScore = (f: Feature) =>
    `coalesce((${f} - avg(${f}) OVER ()) / nullif(stddev_pop(${f}) OVER (), 0), 0)::DOUBLE AS z_${f}`;
  return `WITH per_user AS (
  SELECT user_id, count(*) AS events, count(*) FILTER (WHERE type = 'impression') AS impressions,
    count(*) FILTER (WHERE type = 'click') AS clicks, count(*) FILTER (WHERE type = 'conversion') AS conversions,
    ${microsSql('coalesce(sum(revenue), 0)')} AS revenue
  FROM ${userEvents(lake)} WHERE ts >= ${RANGE_START} AND ts < ${RANGE_END}
  GROUP BY user_id
)
SELECT ${FEATURES.join(', ')}, ${FEATURES.map(zScore).join(', ')} FROM per_user ORDER BY user_id`;
}

const COLUMNS: AnalysisColumn[] = [
  { name: 'cluster', kind: 'dimension', type: 'count' },
  col.count('users'),
  ...FEATURES.map((f) => col.decimal(`avg_${f}`)),
];

export const audiences = defineAnalysis({
  name: 'audiences',
  title: 'K-means audiences over per-user events, impressions, clicks, conversions and revenue',
  params: rangeParams.extend({ k: positiveInt(100).default(5), seed: z.coerce.number().int().default(42) }),
  async run({ wh, lake, range }, { k, seed }) {
    const users = await select<UserRow>(wh, userFeaturesSql(lake), range);
    const { assignment, centroids, iterations } = kMeans(
      users.map((u) => FEATURES.map((f) => u[`z_${f}`])),
      k,
      seed,
    );
    const sums = centroids.map(() => ({ users: 0, micros: FEATURES.map(() => 0n) }));
    users.forEach((u, i) => {
      const s = sums[assignment[i]!]!;
      s.users++;
      // Counts become micro-units too, so every average is rounded the same exact way.
      FEATURES.forEach((f, j) => {
        s.micros[j]! += f === 'revenue' ? BigInt(u[f]) : BigInt(u[f]) * MICROS;
      });
    });
    // Clusters numbered by size (largest first), so the numbering does not depend on seeding order.
    const rows: Row[] = sums
      .filter((s) => s.users > 0)
      .sort((a, b) => b.users - a.users || Number(a.micros[0]! - b.micros[0]!))
      .map((s, cluster) => ({
        cluster,
        users: s.users,
        ...Object.fromEntries(
          FEATURES.map((f, j) => [
            `avg_${f}`,
            formatMicros(divRound(s.micros[j]!, BigInt(s.users), 'half-up')),
          ]),
        ),
      }));
    const warnings =
      rows.length < k && users.length > 0
        ? [`only ${rows.length} distinct clusters found among ${users.length} users (asked for ${k})`]
        : [];
    return { columns: COLUMNS, rows, meta: { k, seed, iterations, features: FEATURES }, warnings };
  },
});
