// The stack-free JSON helpers must agree with the built-ins wherever those do not overflow.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deeperThan, stringifyDeep } from '../../src/events/json-depth.js';

/** Levels of objects and arrays, recursively (fine at the depths generated here). */
function depth(v: unknown): number {
  if (v === null || typeof v !== 'object') return 0;
  const inner = (Array.isArray(v) ? v : Object.values(v)).map(depth);
  return 1 + Math.max(0, ...inner);
}

describe('json-depth', () => {
  it('stringifyDeep is JSON.stringify, and deeperThan compares the depth, for any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 0, max: 9 }), (v, max) => {
        expect(stringifyDeep(v)).toBe(JSON.stringify(v));
        expect(deeperThan(v, max)).toBe(depth(v) > max);
      }),
      { numRuns: 2000 },
    );
  });

  it('handles a value nested a million levels deep', () => {
    const n = 1_000_000;
    const v = JSON.parse(`${'['.repeat(n)}${']'.repeat(n)}`);
    expect(deeperThan(v, 64)).toBe(true);
    expect(stringifyDeep(v)).toHaveLength(2 * n);
  });
});
