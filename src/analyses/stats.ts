// The statistics of an A/B test, on a handful of per-variant numbers computed in SQL: a two-sided
// two-proportion z-test (pooled), a Wald interval for the difference of rates (unpooled), Welch's
// t-test for a mean, and a chi-square goodness-of-fit test for a sample-ratio mismatch.

import chisquareCdf from '@stdlib/stats-base-dists-chisquare-cdf';
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import tCdf from '@stdlib/stats-base-dists-t-cdf';

export interface Proportion {
  successes: number;
  trials: number;
}

/** Two-sided p-value of a standard normal statistic. */
const normalP = (z: number) => 2 * (1 - normalCdf(Math.abs(z), 0, 1));

/** z and two-sided p of rate(b) − rate(a), pooled standard error; NaN when undefined. */
export function twoProportionZ(a: Proportion, b: Proportion): { z: number; p: number } {
  const pooled = (a.successes + b.successes) / (a.trials + b.trials);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / a.trials + 1 / b.trials));
  const z = (b.successes / b.trials - a.successes / a.trials) / se;
  return { z, p: normalP(z) };
}

/** The confidence interval of rate(b) − rate(a), unpooled (Wald). */
export function rateDifferenceCi(a: Proportion, b: Proportion, level = 0.95): { low: number; high: number } {
  const pa = a.successes / a.trials;
  const pb = b.successes / b.trials;
  const se = Math.sqrt((pa * (1 - pa)) / a.trials + (pb * (1 - pb)) / b.trials);
  const half = normalQuantile(1 - (1 - level) / 2, 0, 1) * se;
  return { low: pb - pa - half, high: pb - pa + half };
}

export interface Sample {
  n: number;
  mean: number;
  /** Sample variance (n − 1 in the denominator). */
  variance: number;
}

/** Welch's t-test of mean(b) − mean(a): t, Welch–Satterthwaite df, two-sided p. */
export function welch(a: Sample, b: Sample): { t: number; df: number; p: number } {
  const va = a.variance / a.n;
  const vb = b.variance / b.n;
  const t = (b.mean - a.mean) / Math.sqrt(va + vb);
  const df = (va + vb) ** 2 / (va ** 2 / (a.n - 1) + vb ** 2 / (b.n - 1));
  return { t, df, p: 2 * (1 - tCdf(Math.abs(t), df)) };
}

/** Chi-square goodness of fit of observed counts to expected shares (weights): statistic and p. */
export function chiSquareFit(observed: number[], weights: number[]): { chi2: number; df: number; p: number } {
  const n = observed.reduce((s, o) => s + o, 0);
  const w = weights.reduce((s, x) => s + x, 0);
  const chi2 = observed.reduce((s, o, i) => {
    const expected = (n * weights[i]!) / w;
    return s + (o - expected) ** 2 / expected;
  }, 0);
  const df = observed.length - 1;
  return { chi2, df, p: 1 - chisquareCdf(chi2, df) };
}
