// The worker pool that validates NDJSON bodies must answer exactly what inline validation answers,
// including rejections and their dead letters, for bodies spread over its workers.

import type { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { type TooManyEvents, type ValidatedBatch, validateNdjson } from '../../src/server/collector/batch.js';
import { ValidatorPool } from '../../src/server/collector/validator-pool.js';
import { CONTRACT_CASES } from '../events/contract-cases.js';

const pool = new ValidatorPool(2);
afterAll(() => pool.close());

const at = '2026-01-01T00:00:00.000Z';
const body = (lines: readonly string[]) => Buffer.from(lines.join('\n'));
const validated = (b: ValidatedBatch | TooManyEvents): ValidatedBatch => {
  if ('tooMany' in b) throw new Error(`refused: ${b.tooMany} lines`);
  return b;
};

describe('ValidatorPool', () => {
  it('validates every contract case as inline validation does, over several bodies at once', async () => {
    const lines = CONTRACT_CASES.map((c) => c.text);
    const bodies = [lines.slice(0, 90), lines.slice(90, 180), lines.slice(180)].map(body);
    // Inline first: the pool takes a body's buffer when the body is all of it.
    const inline = bodies.map((b) => validated(validateNdjson(b, 1000, 'events', at)));
    const pooled = (await Promise.all(bodies.map((b) => pool.validate(b, 1000, 'events', at)))).map(
      validated,
    );
    expect(pooled).toEqual(inline);
    // A body that is all of its buffer goes over without a copy and is left detached; a view into a
    // larger buffer is copied and left as it was.
    const first = body(lines.slice(0, 180));
    const expected = validated(validateNdjson(first, 1000, 'events', at));
    const own = new Uint8Array(first);
    const view = new Uint8Array(Buffer.concat([Buffer.from('\n'), first])).subarray(1);
    for (const b of [own, view])
      expect(validated(await pool.validate(b, 1000, 'events', at))).toEqual(expected);
    expect(own.byteLength).toBe(0);
    expect(view.byteLength).toBeGreaterThan(0);
    const count = (f: (b: ValidatedBatch) => number) => pooled.reduce((n, b) => n + f(b), 0);
    const rejected = count((b) => b.errors.length);
    expect(rejected).toBeGreaterThan(50);
    // Every non-blank line is kept, a repeat of an id kept before it, or rejected.
    const nonBlank = lines.filter((l) => l.trim() !== '').length;
    expect(count((b) => b.idEnds.length) + count((b) => b.repeats) + rejected).toBe(nonBlank);
    // The kept lines are the spool bytes, each ending where `ends` says.
    for (const b of pooled) {
      const text = Buffer.from(b.spool).toString('utf8');
      expect(text.split('\n').length - 1).toBe(b.idEnds.length);
      expect(b.ends.at(-1) ?? 0).toBe(b.spool.length);
    }
  });

  it('refuses a body over the events limit whole', async () => {
    const lines = Array.from({ length: 20 }, (_, i) => JSON.stringify({ event_id: `e${i}` }));
    expect(await pool.validate(body([...lines, '  ', '']), 5, 'events', at)).toEqual({ tooMany: 20 });
  });
});

describe('ValidatorPool when a worker dies', () => {
  it('fails only the jobs in flight on it, replaces it, and goes on validating', async () => {
    const p = new ValidatorPool(1);
    try {
      const lines = body(CONTRACT_CASES.slice(0, 20).map((c) => c.text));
      const expected = validateNdjson(lines, 1000, 'events', at);
      expect(await p.validate(lines, 1000, 'events', at)).toEqual(expected);
      // The pool's only worker, stopped from outside as a crash would stop it.
      const { worker } = (p as unknown as { workers: Array<{ worker: Worker }> }).workers[0]!;
      // Large enough (a few hundred ms of work) to be surely in flight when the worker stops.
      const big = body(Array.from({ length: 200_000 }, (_, i) => JSON.stringify({ event_id: `e${i}` })));
      const inFlight = p.validate(big, 1e9, 'events', at);
      await worker.terminate();
      await expect(inFlight).rejects.toThrow(/exited/);
      expect(await p.validate(lines, 1000, 'events', at)).toEqual(expected);
    } finally {
      await p.close();
    }
  });
});
