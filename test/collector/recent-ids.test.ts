// RecentIds against a plain model: the last `capacity` distinct ids added, oldest forgotten first,
// with ids given as slices of batch strings (as the collector gives them).

import { describe, expect, it } from 'vitest';
import { idHash, RecentIds } from '../../src/sources/spool/recent-ids.js';

/** Adds ids as one joined string, the way keep() does. */
function addBatch(r: RecentIds, ids: string[]): void {
  const text = ids.join('');
  let start = 0;
  for (const id of ids) {
    r.add(text, start, start + id.length, idHash(text, start, start + id.length));
    start += id.length;
  }
}

const has = (r: RecentIds, id: string) => {
  // Inside a longer string, so a slice compare that ignored its bounds would fail.
  const text = `<<${id}>>`;
  return r.has(text, 2, 2 + id.length, idHash(id));
};

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('RecentIds', () => {
  it('remembers the last `capacity` distinct ids, as a model does, over many batches', () => {
    for (const capacity of [1, 2, 7, 64]) {
      const r = new RecentIds(capacity);
      const model: string[] = [];
      const rand = mulberry32(capacity);
      for (let b = 0; b < 400; b++) {
        // Ids of varying length from a small pool, so repeats, prefixes of one another and
        // re-adds after being forgotten all happen.
        const ids = Array.from(
          { length: 1 + Math.floor(rand() * 9) },
          () => 'id'.repeat(1 + Math.floor(rand() * 3)) + Math.floor(rand() * 3 * capacity),
        );
        addBatch(r, ids);
        for (const id of ids) {
          if (model.includes(id)) continue;
          model.push(id);
          if (model.length > capacity) model.shift();
        }
        for (let k = 0; k < 3 * capacity; k++) {
          for (const prefix of ['id', 'idid', 'ididid']) {
            const id = `${prefix}${k}`;
            expect(has(r, id), `${id} after batch ${b}, capacity ${capacity}`).toBe(model.includes(id));
          }
        }
      }
    }
  });

  it('takes an id for a duplicate only when every character matches, whatever the hash', () => {
    const r = new RecentIds(8);
    addBatch(r, ['a-1', 'b-2']);
    expect(has(r, 'a-1')).toBe(true);
    expect(has(r, 'a-2')).toBe(false);
    // Same hash given for a different id: still not a duplicate.
    expect(r.has('a-9', 0, 3, idHash('a-1'))).toBe(false);
    expect(r.has('', 0, 0, idHash(''))).toBe(false);
  });
});
