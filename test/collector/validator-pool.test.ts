// The worker pool that validates NDJSON batches must answer exactly what inline validation answers,
// including rejections and their dead letters, for batches spread over its workers.

import type { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { validateLines } from '../../src/server/collector/batch.js';
import { ValidatorPool } from '../../src/server/collector/validator-pool.js';
import { CONTRACT_CASES } from '../events/contract-cases.js';

const pool = new ValidatorPool(2);
afterAll(() => pool.close());

describe('ValidatorPool', () => {
  it('validates every contract case as inline validation does, over several batches at once', async () => {
    const lines = CONTRACT_CASES.map((c) => c.text);
    const batches = [lines.slice(0, 90), lines.slice(90, 180), lines.slice(180)];
    const at = '2026-01-01T00:00:00.000Z';
    const pooled = await Promise.all(batches.map((b) => pool.validate(b, 'events', at)));
    const inline = batches.map((b) => validateLines(b, 'events', at));
    expect(pooled).toEqual(inline);
    const rejected = pooled.reduce((n, b) => n + b.errors.length, 0);
    expect(rejected).toBeGreaterThan(50);
    expect(pooled.reduce((n, b) => n + b.ids.length, 0)).toBe(lines.length - rejected);
  });
});

describe('ValidatorPool when a worker dies', () => {
  it('fails only the jobs in flight on it, replaces it, and goes on validating', async () => {
    const p = new ValidatorPool(1);
    try {
      const lines = CONTRACT_CASES.slice(0, 20).map((c) => c.text);
      const at = '2026-01-01T00:00:00.000Z';
      const expected = validateLines(lines, 'events', at);
      expect(await p.validate(lines, 'events', at)).toEqual(expected);
      // The pool's only worker, stopped from outside as a crash would stop it.
      const { worker } = (p as unknown as { workers: Array<{ worker: Worker }> }).workers[0]!;
      // Large enough (a few hundred ms of work) to be surely in flight when the worker stops.
      const inFlight = p.validate(Array(200_000).fill(lines[0]!), 'events', at);
      await worker.terminate();
      await expect(inFlight).rejects.toThrow(/exited/);
      expect(await p.validate(lines, 'events', at)).toEqual(expected);
    } finally {
      await p.close();
    }
  });
});
