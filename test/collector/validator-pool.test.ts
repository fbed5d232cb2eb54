// The worker pool that validates NDJSON bodies must answer exactly what inline validation answers,
// including rejections and their dead letters, for bodies spread over its workers.

import type { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { ValidatorPool } from '../../src/server/collector/validator-pool.js';
import { type TooManyEvents, type ValidatedBatch, validateNdjson } from '../../src/sources/spool/batch.js';
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
    const inline = bodies.map((b) => validated(validateNdjson(b, 1000, 'events', at)));
    const pooled = (await Promise.all(bodies.map((b) => pool.validate(b, 1000, 'events', at)))).map(
      validated,
    );
    expect(pooled).toEqual(inline);
    // A body is copied to its worker, whole or a view into a larger buffer, and left as it was: a
    // worker that dies leaves it to be validated again.
    const first = body(lines.slice(0, 180));
    const expected = validated(validateNdjson(first, 1000, 'events', at));
    const own = new Uint8Array(first);
    const view = new Uint8Array(Buffer.concat([Buffer.from('\n'), first])).subarray(1);
    for (const b of [own, view]) {
      expect(validated(await pool.validate(b, 1000, 'events', at))).toEqual(expected);
      expect(b.byteLength).toBe(first.byteLength);
    }
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
  type Workers = { workers: Array<{ worker: Worker }>; isolation?: { worker: Worker } };
  const internals = (p: ValidatorPool) => p as unknown as Workers;
  // Large enough (a few hundred ms of work) to be surely in flight when a worker stops.
  const big = body(Array.from({ length: 200_000 }, (_, i) => JSON.stringify({ event_id: `e${i}` })));

  it('runs the jobs it held again on a fresh worker, replaces it, and goes on validating', async () => {
    const p = new ValidatorPool(1);
    try {
      const lines = body(CONTRACT_CASES.slice(0, 20).map((c) => c.text));
      const expected = validateNdjson(lines, 1000, 'events', at);
      expect(await p.validate(lines, 1000, 'events', at)).toEqual(expected);
      // The pool's only worker, stopped from outside as a crash would stop it, with three jobs on it.
      const { worker } = internals(p).workers[0]!;
      const inFlight = [p.validate(big, 1e9, 'events', at), p.validate(lines, 1000, 'events', at)];
      const third = p.validate(lines, 1000, 'events', at);
      await worker.terminate();
      const [bigBatch, again] = await Promise.all(inFlight);
      expect(validated(bigBatch!).errors.length).toBe(200_000);
      expect(again).toEqual(expected);
      expect(await third).toEqual(expected);
      expect(await p.validate(lines, 1000, 'events', at)).toEqual(expected);
    } finally {
      await p.close();
    }
  });

  it('fails a job alone when it stops the fresh worker it runs on too', async () => {
    const p = new ValidatorPool(1);
    try {
      const lines = body(CONTRACT_CASES.slice(0, 20).map((c) => c.text));
      const expected = validateNdjson(lines, 1000, 'events', at);
      const poison = p.validate(big, 1e9, 'events', at);
      const bystander = p.validate(lines, 1000, 'events', at);
      await internals(p).workers[0]!.worker.terminate();
      // The big job runs first, alone: stop its worker too, as a job that crashes every worker would.
      await expect.poll(() => internals(p).isolation, { timeout: 10_000 }).toBeDefined();
      await internals(p).isolation!.worker.terminate();
      await expect(poison).rejects.toMatchObject({
        code: 'ADP_ERR_COLLECTOR_VALIDATION_FAILED',
        status: 500,
      });
      expect(await bystander).toEqual(expected);
    } finally {
      await p.close();
    }
  });
});
