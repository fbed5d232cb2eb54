// L2-regularised logistic regression on binomial rows (trials and successes per combination of
// binary features), fitted by Newton's method (IRLS). Rows list the indices of their active
// features; index 0 is the intercept, which every row has and the penalty spares.

import { CholeskyDecomposition, Matrix } from 'ml-matrix';

export interface BinomialRow {
  /** Indices of the features that are 1 (duplicates add up, as colliding hashed features do). */
  active: readonly number[];
  trials: number;
  successes: number;
}

export interface LogisticFit {
  weights: Float64Array;
  iterations: number;
}

const MAX_ITERATIONS = 50;
const TOLERANCE = 1e-9;

export const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

export function linearScore(weights: ArrayLike<number>, active: readonly number[]): number {
  let z = weights[0]!;
  for (const i of active) z += weights[i]!;
  return z;
}

/** Fits weights over `dims` features (intercept included) minimising log-loss + l2/2 · |w without intercept|². */
export function fitLogistic(rows: readonly BinomialRow[], dims: number, l2: number): LogisticFit {
  const weights = new Float64Array(dims);
  const trials = rows.reduce((s, r) => s + r.trials, 0);
  const successes = rows.reduce((s, r) => s + r.successes, 0);
  // Starting at the base rate makes the first step small and the fit converge in a few steps.
  weights[0] = Math.log((successes + 0.5) / (trials - successes + 0.5));
  let iterations = 0;
  while (iterations < MAX_ITERATIONS) {
    iterations++;
    const gradient = new Float64Array(dims);
    const hessian = Matrix.zeros(dims, dims);
    for (const row of rows) {
      const p = sigmoid(linearScore(weights, row.active));
      const residual = row.successes - row.trials * p;
      const curvature = row.trials * p * (1 - p);
      const features = [0, ...row.active];
      for (const a of features) {
        gradient[a]! += residual;
        for (const b of features) hessian.set(a, b, hessian.get(a, b) + curvature);
      }
    }
    for (let i = 1; i < dims; i++) {
      gradient[i]! -= l2 * weights[i]!;
      hessian.set(i, i, hessian.get(i, i) + l2);
    }
    // A tiny ridge on the intercept keeps the system positive definite when every row is all 0s or 1s.
    hessian.set(0, 0, hessian.get(0, 0) + 1e-9);
    const step = new CholeskyDecomposition(hessian).solve(Matrix.columnVector(Array.from(gradient)));
    let largest = 0;
    for (let i = 0; i < dims; i++) {
      const d = step.get(i, 0);
      weights[i]! += d;
      largest = Math.max(largest, Math.abs(d));
    }
    if (largest < TOLERANCE) break;
  }
  return { weights, iterations };
}
