// Held-out metrics of a probability model on binomial rows: log-loss, AUC and a calibration table.
// Each row stands for `trials` cases sharing one prediction, `successes` of them positive.

export interface Scored {
  trials: number;
  successes: number;
  predicted: number;
}

export interface CalibrationBin {
  bin: number;
  trials: number;
  successes: number;
  avg_predicted: number;
  observed: number | null;
}

const EPS = 1e-15;

/** Mean negative log-likelihood per case. */
export function logLoss(rows: readonly Scored[]): number {
  let loss = 0;
  let n = 0;
  for (const r of rows) {
    const p = Math.min(1 - EPS, Math.max(EPS, r.predicted));
    loss -= r.successes * Math.log(p) + (r.trials - r.successes) * Math.log(1 - p);
    n += r.trials;
  }
  return n === 0 ? Number.NaN : loss / n;
}

/** The probability that a random positive scores above a random negative (ties count half). */
export function auc(rows: readonly Scored[]): number {
  const sorted = [...rows].sort((a, b) => a.predicted - b.predicted);
  let negativesBelow = 0;
  let wins = 0;
  let positives = 0;
  for (let i = 0; i < sorted.length; ) {
    let pos = 0;
    let neg = 0;
    const score = sorted[i]!.predicted;
    for (; i < sorted.length && sorted[i]!.predicted === score; i++) {
      pos += sorted[i]!.successes;
      neg += sorted[i]!.trials - sorted[i]!.successes;
    }
    wins += pos * (negativesBelow + neg / 2);
    negativesBelow += neg;
    positives += pos;
  }
  return positives === 0 || negativesBelow === 0 ? Number.NaN : wins / (positives * negativesBelow);
}

/** Bins of about equal cases by predicted probability (a row stays whole, in the bin of its middle case). */
export function calibration(rows: readonly Scored[], bins = 10): CalibrationBin[] {
  const sorted = [...rows].sort((a, b) => a.predicted - b.predicted);
  const total = sorted.reduce((s, r) => s + r.trials, 0);
  const out = Array.from({ length: bins }, (_, bin) => ({ bin, trials: 0, successes: 0, predictedSum: 0 }));
  let before = 0;
  for (const r of sorted) {
    const b = out[Math.min(bins - 1, Math.floor(((before + r.trials / 2) / total) * bins))]!;
    b.trials += r.trials;
    b.successes += r.successes;
    b.predictedSum += r.predicted * r.trials;
    before += r.trials;
  }
  return out.map(({ bin, trials, successes, predictedSum }) => ({
    bin,
    trials,
    successes,
    avg_predicted: trials === 0 ? 0 : predictedSum / trials,
    observed: trials === 0 ? null : successes / trials,
  }));
}
