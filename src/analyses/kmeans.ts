// K-means (Lloyd's iterations) with k-means++ seeding, for the audiences analysis. Pure numerics on
// rows SQL already aggregated and standardised; seeded, so the same input and seed give the same
// clusters.

import { Prng } from '../simulator/prng.js';

export interface KMeansResult {
  /** The cluster of each point, in input order. */
  assignment: number[];
  centroids: number[][];
  iterations: number;
}

const MAX_ITERATIONS = 100;

function distance2(a: readonly number[], b: readonly number[]): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d += (a[i]! - b[i]!) ** 2;
  return d;
}

function nearest(point: readonly number[], centroids: readonly number[][]): number {
  let best = 0;
  let bestD = Number.POSITIVE_INFINITY;
  centroids.forEach((c, j) => {
    const d = distance2(point, c);
    if (d < bestD) {
      bestD = d;
      best = j;
    }
  });
  return best;
}

/** k-means++: each next centre drawn with probability proportional to its squared distance to the chosen. */
function seedCentroids(points: readonly number[][], k: number, rng: Prng): number[][] {
  const centroids = [points[rng.below(points.length)]!.slice()];
  const d2 = points.map((p) => distance2(p, centroids[0]!));
  while (centroids.length < k) {
    const total = d2.reduce((s, d) => s + d, 0);
    // All points coincide with a centre: any further centre would duplicate one.
    if (total === 0) break;
    const target = rng.float() * total;
    let pick = 0;
    // Rounding can leave target just past the last positive weight: stop at the last one then.
    for (let run = d2[0]!; run <= target && pick < d2.length - 1; run += d2[++pick]!);
    while (d2[pick] === 0) pick--;
    const next = points[pick]!.slice();
    centroids.push(next);
    points.forEach((p, i) => {
      d2[i] = Math.min(d2[i]!, distance2(p, next));
    });
  }
  return centroids;
}

/** Clusters points (all of one dimension) into at most k groups (fewer when fewer distinct points). */
export function kMeans(points: readonly number[][], k: number, seed: number): KMeansResult {
  if (points.length === 0) return { assignment: [], centroids: [], iterations: 0 };
  const centroids = seedCentroids(points, k, new Prng(seed));
  let assignment = points.map((p) => nearest(p, centroids));
  const dim = points[0]!.length;
  let iterations = 0;
  while (iterations < MAX_ITERATIONS) {
    iterations++;
    const sums = centroids.map(() => new Array<number>(dim).fill(0));
    const counts = new Array<number>(centroids.length).fill(0);
    points.forEach((p, i) => {
      const c = assignment[i]!;
      counts[c]!++;
      p.forEach((v, d) => {
        sums[c]![d]! += v;
      });
    });
    // An emptied cluster keeps its centre rather than vanishing.
    sums.forEach((s, c) => {
      if (counts[c]! > 0) centroids[c] = s.map((v) => v / counts[c]!);
    });
    const next = points.map((p) => nearest(p, centroids));
    const moved = next.some((c, i) => c !== assignment[i]);
    assignment = next;
    if (!moved) break;
  }
  return { assignment, centroids, iterations };
}
