// What each file holds, in arrival order: its share of the global event sequence, plus (with dirt)
// copies of events already sent, events from earlier files that arrive late, and malformed records.
// A file is a pure function of (options, file index), so files can be written in any order.

import type { Altered, Dirt } from './dirty.js';
import { copyEvent, EventBlock, generateChunk, type World } from './funnel.js';
import type { SimEvent } from './record.js';
import type { Totals } from './totals.js';
import { CHUNK_EVENTS, chunksIn, fileRange } from './traffic.js';

export type Item = SimEvent | Altered;

export function isAltered(item: Item): item is Altered {
  return 'altered' in item;
}

/**
 * Yields the file's records a chunk at a time. Events of a batch are reused for the next one, so a
 * consumer encodes or copies a batch before asking for the next. Totals (clean events and dirt) are counted only for
 * the file's own events, so summing all files counts every event exactly once.
 */
export function* fileBatches(
  world: World,
  dirt: Dirt | null,
  file: number,
  totals?: Totals,
): Generator<Item[]> {
  const { plan } = world;
  const [from, to] = fileRange(plan, file);
  const block = new EventBlock();
  if (dirt && file > 0) {
    const carried = [...retried(world, dirt, file, block), ...late(world, dirt, file, block)];
    if (carried.length > 0) yield carried;
  }
  // The last chunk of a file is retried at the start of the next, as a collector does after rotation.
  const tail = file < plan.files - 1 ? to - CHUNK_EVENTS : to;
  // Reused like the events in them: each batch is consumed before the next is made.
  const batch: Item[] = [];
  const copies: Item[] = [];
  for (const c of chunksIn(plan, from, to)) {
    generateChunk(world, c, block);
    batch.length = 0;
    copies.length = 0;
    for (let k = 0; k < block.length; k++) {
      const ev = block.events[k]!;
      const i = ev.index;
      if (i < from || i >= to) continue;
      totals?.add(ev);
      if (!dirt) {
        batch.push(ev);
        continue;
      }
      // A late event keeps its form when it is delivered, so forms are counted first.
      const form = dirt.altForm(i);
      if (form) totals?.countDirt(`alternative.${form}`);
      if (dirt.lateTarget(i, c, file, plan.files) >= 0) {
        totals?.countDirt('late');
        continue;
      }
      const item = dirt.present(ev, world);
      batch.push(item);
      if (dirt.duplicate(i)) {
        totals?.countDirt('duplicate');
        if (i < tail) copies.push(item);
      }
      const bad = dirt.malformed(i);
      if (bad) {
        totals?.countDirt(`malformed.${bad}`);
        batch.push(dirt.broken(ev, world, bad));
      }
    }
    totals?.fold();
    batch.push(...copies);
    yield batch;
  }
}

/** Copies of the duplicated, on-time events in the previous file's last chunk of events. */
function* retried(world: World, dirt: Dirt, file: number, block: EventBlock): Generator<Item> {
  const [prevFrom, prevTo] = fileRange(world.plan, file - 1);
  const from = Math.max(prevFrom, prevTo - CHUNK_EVENTS);
  for (const c of chunksIn(world.plan, from, prevTo)) {
    generateChunk(world, c, block);
    for (let k = 0; k < block.length; k++) {
      const ev = block.events[k]!;
      const i = ev.index;
      if (
        i >= from &&
        i < prevTo &&
        dirt.duplicate(i) &&
        dirt.lateTarget(i, c, file - 1, world.plan.files) < 0
      )
        yield dirt.present(copyEvent(ev), world);
    }
  }
}

/** Events of the two previous files held back for delivery in this one. */
function* late(world: World, dirt: Dirt, file: number, block: EventBlock): Generator<Item> {
  for (let home = Math.max(0, file - 2); home < file; home++) {
    const [from, to] = fileRange(world.plan, home);
    for (const c of chunksIn(world.plan, from, to)) {
      if (!dirt.lateChunk(c)) continue;
      generateChunk(world, c, block);
      for (let k = 0; k < block.length; k++) {
        const ev = block.events[k]!;
        if (
          ev.index >= from &&
          ev.index < to &&
          dirt.lateTarget(ev.index, c, home, world.plan.files) === file
        )
          yield dirt.present(copyEvent(ev), world);
      }
    }
  }
}
