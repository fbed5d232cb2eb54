// A/B test results (seed 002) for an experiment declared in adpipe.yaml: per variant the users
// (distinct users with events tagged with the experiment, by their `variant`), converters, rates
// and revenue per user, each variant tested against the control; the sample-ratio-mismatch check
// of the user counts against the declared weights. SQL does the per-user sums; JS only the tests.

import { z } from 'zod';
import { microsSql } from '../money.js';
import { RANGE_END, RANGE_START } from '../reports/query.js';
import { col, defineAnalysis, type Row } from './analysis.js';
import { findExperiment } from './assign.js';
import { rangeParams } from './params.js';
import { ratio6, select } from './sql.js';
import { chiSquareFit, rateDifferenceCi, twoProportionZ, welch } from './stats.js';

/** Below this p-value the user counts do not fit the weights: the split itself is broken. */
export const SRM_THRESHOLD = 0.001;

type VariantStats = {
  variant: string;
  users: string;
  converters: string;
  conversion_rate: string | null;
  revenue_per_user: string | null;
  mean: number | null;
  variance: number | null;
};

/** mean and variance (sample) of a column of integer micro-units, NULLs left out, as DOUBLE units. */
function moments(micros: string): string {
  const n = `count(${micros})::HUGEINT`;
  const s1 = `sum(${micros})::HUGEINT`;
  const s2 = `sum((${micros}) * (${micros}))::HUGEINT`;
  return `${s1}::DOUBLE / nullif(${n}, 0) / 1e6 AS mean,
  CASE WHEN ${n} > 1 THEN (${n} * ${s2} - ${s1} * ${s1})::DOUBLE / (${n} * (${n} - 1)) / 1e12 END AS variance`;
}

const finite = (x: number) => (Number.isFinite(x) ? x : null);
const round6 = (x: number) => finite(Math.round(x * 1e6) / 1e6);
/** p-values keep 6 significant digits: a tiny p must not print as 0. */
const sig6 = (x: number) => finite(Number(x.toPrecision(6)));

export const ab = defineAnalysis({
  name: 'ab',
  title: 'A/B test: conversion and revenue per variant against the control, with the SRM check',
  params: rangeParams.extend({ experiment: z.string().min(1) }),
  async run({ wh, config, activity, range }, params) {
    const experiment = findExperiment(config.experiments, params.experiment);
    const sql = `WITH per_user AS (
  SELECT user_id, coalesce(variant, '(none)') AS variant, max((conversions > 0)::INT) AS converted,
    sum(revenue)::DECIMAL(38,6) AS revenue
  FROM ${activity.quarters}
  WHERE user_id IS NOT NULL AND experiment = $experiment AND quarter >= ${RANGE_START} AND quarter < ${RANGE_END}
  GROUP BY ALL
)
SELECT variant, count(*) AS users, sum(converted) AS converters,
  ${ratio6('sum(converted)', 'count(*)')} AS conversion_rate,
  ${ratio6(microsSql('sum(revenue)'), 'count(*) * 1000000')} AS revenue_per_user,
  -- Mean and sample variance from exact sums of micro-units: the same figures whatever the order of
  -- the rows, which floating-point sums in parallel would not give.
  ${moments(microsSql('revenue'))},
  (SELECT count(*) FROM (SELECT user_id FROM per_user GROUP BY user_id HAVING count(*) > 1)) AS in_several
FROM per_user GROUP BY variant ORDER BY variant`;
    const found = await select<VariantStats & { in_several: string }>(wh, sql, {
      ...range,
      experiment: experiment.name,
    });
    const declared = Object.keys(experiment.variants);
    const empty = (variant: string): VariantStats => ({
      variant,
      users: '0',
      converters: '0',
      conversion_rate: null,
      revenue_per_user: null,
      mean: null,
      variance: null,
    });
    const stats = [
      ...declared.map((v) => found.find((f) => f.variant === v) ?? empty(v)),
      ...found.filter((f) => !declared.includes(f.variant)),
    ];
    const control = stats.find((s) => s.variant === experiment.control)!;
    const asProportion = (s: VariantStats) => ({ successes: Number(s.converters), trials: Number(s.users) });
    const asSample = (s: VariantStats) => ({
      n: Number(s.users),
      mean: s.mean ?? NaN,
      variance: s.variance ?? NaN,
    });

    const conversionTests: Record<string, unknown>[] = [];
    const revenueTests: Record<string, unknown>[] = [];
    const rows: Row[] = stats.map((s) => {
      const row: Row = {
        variant: s.variant,
        users: s.users,
        converters: s.converters,
        conversion_rate: s.conversion_rate,
        revenue_per_user: s.revenue_per_user,
        lift: null,
        p_value: null,
        ci_low: null,
        ci_high: null,
      };
      if (s === control) return row;
      const a = asProportion(control);
      const b = asProportion(s);
      const { z, p } = twoProportionZ(a, b);
      const ci = rateDifferenceCi(a, b);
      row.lift = round6((b.successes * a.trials) / (b.trials * a.successes) - 1);
      row.p_value = sig6(p);
      row.ci_low = round6(ci.low);
      row.ci_high = round6(ci.high);
      conversionTests.push({
        variant: s.variant,
        z: finite(z),
        p: finite(p),
        ci_low: finite(ci.low),
        ci_high: finite(ci.high),
      });
      const w = welch(asSample(control), asSample(s));
      revenueTests.push({ variant: s.variant, t: finite(w.t), df: finite(w.df), p: finite(w.p) });
      return row;
    });

    const counts = declared.map((v) => Number(stats.find((s) => s.variant === v)!.users));
    const fit = counts.some((c) => c > 0)
      ? chiSquareFit(
          counts,
          declared.map((v) => experiment.variants[v]!),
        )
      : undefined;
    const srm = fit !== undefined && fit.p < SRM_THRESHOLD;
    return {
      columns: [
        col.dim('variant'),
        col.count('users'),
        col.count('converters'),
        col.decimal('conversion_rate'),
        col.decimal('revenue_per_user'),
        ...['lift', 'p_value', 'ci_low', 'ci_high'].map((c) => col.number(c)),
      ],
      rows,
      meta: {
        experiment: experiment.name,
        control: experiment.control,
        weights: experiment.variants,
        users_in_several_variants: Number(found[0]?.in_several ?? 0),
        conversion_tests: conversionTests,
        revenue_tests: revenueTests,
        srm,
        srm_chi2: fit ? finite(fit.chi2) : null,
        srm_p_value: fit ? finite(fit.p) : null,
      },
      warnings: srm
        ? [
            `warning: sample ratio mismatch (chi-square p = ${sig6(fit!.p)} < ${SRM_THRESHOLD}): the user counts do not fit the weights ${JSON.stringify(experiment.variants)}; check assignment and logging before trusting these results`,
          ]
        : [],
    };
  },
});
