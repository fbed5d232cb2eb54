// Ids acknowledged recently, for the `duplicates` count at ack time. Bounded: the last `capacity`
// ids added, oldest forgotten first. A miss here is harmless: the drain deduplicates against all
// history in SQL, which is the authority.
//
// An open-addressing table (linear probing, backward-shift deletion) over entries kept in typed
// arrays, in a ring of insertion order: exact (ids are compared in full, never by hash alone, so an
// event is never taken for a duplicate it is not). An id is kept as a slice of the string it came in
// (a batch's ids joined, see ValidatedBatch), never as a string of its own: a million small strings,
// each stored into the old generation while young, made every scavenge of the event loop copy and
// scan them (5–17 ms pauses at 60k events/s, and the batch p99 went from 22–28 ms to 40–71 ms).

/** FNV-1a over the UTF-16 code units of s[start, end): the table's hash, which a worker computes ahead. */
export function idHash(s: string, start = 0, end = s.length): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
}

export class RecentIds {
  private readonly mask: number;
  /** Table slot → entry + 1; 0 is an empty slot. */
  private readonly table: Int32Array;
  /** Per entry, in a ring of insertion order: where its id sits in which text, and its hash. */
  private readonly textOf: Int32Array;
  private readonly starts: Int32Array;
  private readonly ends: Int32Array;
  private readonly hashes: Int32Array;
  /** The texts entries point into, in a ring of their own: one per add()ing batch, not per id. */
  private readonly texts: Array<string | undefined>;
  /** The text the last entry points into, and its slot. */
  private lastText: string | undefined;
  private lastSlot = 0;
  private nextText = 0;
  private next = 0;
  private size = 0;

  constructor(private readonly capacity: number) {
    let slots = 2;
    while (slots < capacity * 2) slots *= 2;
    this.mask = slots - 1;
    this.table = new Int32Array(slots);
    this.textOf = new Int32Array(capacity);
    this.starts = new Int32Array(capacity);
    this.ends = new Int32Array(capacity);
    this.hashes = new Int32Array(capacity);
    this.texts = new Array<string | undefined>(capacity).fill(undefined);
  }

  /** Whether the id text[start, end) is here; `h` must be its idHash. */
  has(text: string, start: number, end: number, h: number): boolean {
    return end > start && this.slotOf(text, start, end, h) >= 0;
  }

  /** Remembers the id text[start, end); `h` must be its idHash. */
  add(text: string, start: number, end: number, h: number): void {
    if (end <= start || this.slotOf(text, start, end, h) >= 0) return;
    const e = this.next;
    if (this.size === this.capacity) this.forget(e);
    if (text !== this.lastText) {
      // Slots are taken in entry order, so by the time one comes round again every entry that
      // pointed into its old text has been forgotten.
      this.lastSlot = this.nextText;
      this.texts[this.lastSlot] = text;
      this.lastText = text;
      this.nextText = this.nextText + 1 === this.capacity ? 0 : this.nextText + 1;
    }
    this.textOf[e] = this.lastSlot;
    this.starts[e] = start;
    this.ends[e] = end;
    this.hashes[e] = h;
    let i = h & this.mask;
    while (this.table[i] !== 0) i = (i + 1) & this.mask;
    this.table[i] = e + 1;
    this.next = e + 1 === this.capacity ? 0 : e + 1;
    this.size++;
  }

  /** The table slot holding an entry equal to text[start, end), or -1. */
  private slotOf(text: string, start: number, end: number, h: number): number {
    const { table, hashes, mask } = this;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const e = table[i]! - 1;
      if (e < 0) return -1;
      if (hashes[e] === h && this.equals(e, text, start, end)) return i;
    }
  }

  private equals(e: number, text: string, start: number, end: number): boolean {
    const s = this.starts[e]!;
    if (this.ends[e]! - s !== end - start) return false;
    const t = this.texts[this.textOf[e]!]!;
    for (let k = 0; k < end - start; k++)
      if (t.charCodeAt(s + k) !== text.charCodeAt(start + k)) return false;
    return true;
  }

  /**
   * Forgets entry `e` (the oldest): deletes it from the table by shifting later entries of the
   * probe run back, so no tombstones accumulate, and lets go of its text once no entry is in it.
   */
  private forget(e: number): void {
    const { table, hashes, mask } = this;
    let hole = hashes[e]! & mask;
    while (table[hole] !== e + 1) hole = (hole + 1) & mask;
    for (let j = (hole + 1) & mask; table[j] !== 0; j = (j + 1) & mask) {
      // The entry at j may fill the hole unless its home slot lies after the hole (cyclically).
      if (((j - (hashes[table[j]! - 1]! & mask)) & mask) >= ((j - hole) & mask)) {
        table[hole] = table[j]!;
        hole = j;
      }
    }
    table[hole] = 0;
    this.size--;
    const after = e + 1 === this.capacity ? 0 : e + 1;
    const slot = this.textOf[e]!;
    if (this.size === 0 || this.textOf[after] !== slot) {
      if (this.texts[slot] === this.lastText) this.lastText = undefined;
      this.texts[slot] = undefined;
    }
  }
}
