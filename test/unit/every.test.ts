import { describe, expect, it } from 'vitest';
import { nextWait, runEvery } from '../../src/util/every.js';

describe('runEvery', () => {
  it('waits the interval ±10 %, doubling per failure in a row up to 8×', () => {
    expect(nextWait(1000, 0, () => 0)).toBe(900);
    expect(nextWait(1000, 0, () => 0.999999)).toBeCloseTo(1100, 0);
    expect(nextWait(1000, 1, () => 0.5)).toBe(2000);
    expect(nextWait(1000, 2, () => 0.5)).toBe(4000);
    expect(nextWait(1000, 5, () => 0.5)).toBe(8000);
  });

  it('goes on after failures, resets the backoff after a success, and stops on abort', async () => {
    const stop = new AbortController();
    const runs: number[] = [];
    const failuresSeen: number[] = [];
    const t0 = Date.now();
    let n = 0;
    await runEvery(
      200,
      async () => {
        runs.push(Date.now() - t0);
        n++;
        if (n === 5) stop.abort();
        if (n <= 2) throw new Error(`fail ${n}`);
      },
      { signal: stop.signal, random: () => 0.5, onError: (_err, failures) => failuresSeen.push(failures) },
    );
    expect(n).toBe(5);
    expect(failuresSeen).toEqual([1, 2]);
    // Waits after runs 1..4: 400 ms (1 failure), 800 (2 in a row), 200, 200; none after the abort.
    const gaps = runs.slice(1).map((t, i) => t - (runs[i] as number));
    expect(gaps[0]).toBeGreaterThanOrEqual(390);
    expect(gaps[1]).toBeGreaterThanOrEqual(790);
    expect(gaps[2]).toBeLessThan(790);
    expect(Date.now() - t0).toBeLessThan((runs[4] as number) + 150);
  });
});
