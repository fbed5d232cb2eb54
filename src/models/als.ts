// Implicit-feedback ALS (Hu, Koren and Volinsky, "Collaborative Filtering for Implicit Feedback
// Datasets", 2008): every user × item cell is a preference (1 where the user interacted, else 0)
// with a confidence 1 + alpha · strength. Alternating exact least squares for user and item factors,
// each row a small f × f system solved by Cholesky, using YᵀY + Yᵀ(Cᵤ − I)Y so that only a row's
// interactions cost anything.

import { CholeskyDecomposition, Matrix } from 'ml-matrix';
import { Prng } from '../simulator/prng.js';

export interface AlsOptions {
  factors: number;
  iterations: number;
  /** λ of the ridge on every factor vector. */
  l2: number;
  alpha: number;
  seed: number;
}

export interface Interaction {
  user: number;
  item: number;
  strength: number;
}

export interface AlsFactors {
  users: number[][];
  items: number[][];
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** Each row's interactions as (index on the other side, confidence). */
type Rows = Array<Array<readonly [number, number]>>;

/** The factors of one side given the other's: (YᵀY + Yᵀ(Cᵤ − I)Y + λI) xᵤ = Yᵀ Cᵤ p(u). */
function solveSide(fixed: readonly number[][], rows: Rows, f: number, l2: number): number[][] {
  const gram = Matrix.zeros(f, f);
  for (const y of fixed)
    for (let p = 0; p < f; p++) for (let q = 0; q < f; q++) gram.set(p, q, gram.get(p, q) + y[p]! * y[q]!);
  return rows.map((entries) => {
    if (entries.length === 0) return new Array<number>(f).fill(0);
    const a = gram.clone();
    const b = new Array<number>(f).fill(0);
    for (const [j, confidence] of entries) {
      const y = fixed[j]!;
      for (let p = 0; p < f; p++) {
        b[p]! += confidence * y[p]!;
        // Upper triangle mirrored: Cholesky wants the matrix exactly symmetric, rounding and all.
        for (let q = p; q < f; q++) {
          const v = a.get(p, q) + (confidence - 1) * y[p]! * y[q]!;
          a.set(p, q, v);
          a.set(q, p, v);
        }
      }
    }
    for (let p = 0; p < f; p++) a.set(p, p, a.get(p, p) + l2);
    return new CholeskyDecomposition(a).solve(Matrix.columnVector(b)).getColumn(0);
  });
}

export function fitAls(
  userCount: number,
  itemCount: number,
  interactions: readonly Interaction[],
  o: AlsOptions,
): AlsFactors {
  const byUser: Rows = Array.from({ length: userCount }, () => []);
  const byItem: Rows = Array.from({ length: itemCount }, () => []);
  for (const { user, item, strength } of interactions) {
    const confidence = 1 + o.alpha * strength;
    byUser[user]!.push([item, confidence]);
    byItem[item]!.push([user, confidence]);
  }
  const rng = new Prng(o.seed);
  const small = () => Array.from({ length: o.factors }, () => (rng.float() - 0.5) * 0.1);
  let users = Array.from({ length: userCount }, small);
  let items = Array.from({ length: itemCount }, small);
  for (let it = 0; it < o.iterations; it++) {
    users = solveSide(items, byUser, o.factors, o.l2);
    items = solveSide(users, byItem, o.factors, o.l2);
  }
  return { users, items };
}
