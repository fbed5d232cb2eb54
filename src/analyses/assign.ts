// Deterministic A/B assignment, computable by any client: the first 8 bytes of
// SHA-256(experiment + "\u0000" + user) (UTF-8) as an unsigned big-endian 64-bit integer, modulo the
// sum of the weights, walked through the variants in declared order. docs/analyses.md has the
// rule and test vectors.

import { createHash } from 'node:crypto';
import type { Experiment } from '../config.js';
import { AdpipeError } from '../errors.js';

/** The bucket in [0, total) of a user in an experiment. */
export function bucketOf(experiment: string, user: string, total: number): number {
  const digest = createHash('sha256').update(`${experiment}\u0000${user}`, 'utf8').digest();
  return Number(digest.readBigUInt64BE(0) % BigInt(total));
}

export function assignVariant(experiment: Experiment, user: string): string {
  const variants = Object.entries(experiment.variants);
  const total = variants.reduce((s, [, w]) => s + w, 0);
  let bucket = bucketOf(experiment.name, user, total);
  for (const [name, w] of variants) {
    if (bucket < w) return name;
    bucket -= w;
  }
  throw new Error('unreachable: the bucket is below the sum of the weights');
}

export function findExperiment(experiments: readonly Experiment[], name: string): Experiment {
  const e = experiments.find((x) => x.name === name);
  if (!e) throw new AdpipeError('ADP_ERR_ANALYSIS_UNKNOWN_EXPERIMENT', [name]);
  return e;
}
