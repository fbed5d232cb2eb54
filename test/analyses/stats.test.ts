// The A/B statistics against textbook values and against the formulas evaluated here with fixed
// numbers and reference distributions (normal.ts), to 1e-6.
import { describe, expect, it } from 'vitest';
import { chiSquareFit, rateDifferenceCi, twoProportionZ, welch } from '../../src/analyses/stats.js';
import { normalTwoSidedP, tTwoSidedP } from './normal.js';

const Z975 = 1.959963984540054;

describe('two-proportion z-test', () => {
  it('200/1000 vs 250/1000: z ≈ −2.68, p ≈ 0.0074 (textbook), and exactly the pooled formula', () => {
    const { z, p } = twoProportionZ({ successes: 250, trials: 1000 }, { successes: 200, trials: 1000 });
    expect(z).toBeCloseTo(-2.68, 2);
    expect(p).toBeCloseTo(0.0074, 4);
    const pooled = 450 / 2000;
    const expectedZ = (0.2 - 0.25) / Math.sqrt(pooled * (1 - pooled) * (1 / 1000 + 1 / 1000));
    expect(Math.abs(z - expectedZ)).toBeLessThan(1e-9);
    expect(Math.abs(p - normalTwoSidedP(expectedZ))).toBeLessThan(1e-6);
  });

  it('the 95 % Wald interval of the difference is unpooled', () => {
    const ci = rateDifferenceCi({ successes: 200, trials: 1000 }, { successes: 250, trials: 1000 });
    const half = Z975 * Math.sqrt((0.2 * 0.8) / 1000 + (0.25 * 0.75) / 1000);
    expect(Math.abs(ci.low - (0.05 - half))).toBeLessThan(1e-6);
    expect(Math.abs(ci.high - (0.05 + half))).toBeLessThan(1e-6);
    expect(ci.low).toBeCloseTo(0.0135, 4);
  });
});

describe("Welch's t-test", () => {
  it('matches the formula with Welch–Satterthwaite df', () => {
    const a = { n: 10, mean: 20.0, variance: 4.0 };
    const b = { n: 25, mean: 22.5, variance: 9.0 };
    const w = welch(a, b);
    const va = 4 / 10;
    const vb = 9 / 25;
    const t = 2.5 / Math.sqrt(va + vb);
    const df = (va + vb) ** 2 / (va ** 2 / 9 + vb ** 2 / 24);
    expect(Math.abs(w.t - t)).toBeLessThan(1e-9);
    expect(Math.abs(w.df - df)).toBeLessThan(1e-9);
    expect(w.t).toBeCloseTo(2.8677, 4);
    expect(Math.abs(w.p - tTwoSidedP(t, df))).toBeLessThan(1e-6);
  });
});

describe('sample ratio mismatch', () => {
  it('flags 5 500 / 4 500 against 50/50 and not 5 010 / 4 990', () => {
    const skewed = chiSquareFit([5500, 4500], [50, 50]);
    expect(skewed.chi2).toBeCloseTo(100, 9);
    expect(skewed.p).toBeLessThan(0.001);
    const fair = chiSquareFit([5010, 4990], [50, 50]);
    expect(fair.chi2).toBeCloseTo(0.04, 9);
    // One degree of freedom: chi-square = z².
    expect(Math.abs(fair.p - normalTwoSidedP(0.2))).toBeLessThan(1e-6);
    expect(fair.p).toBeGreaterThan(0.001);
  });
});
