// Ids acknowledged recently, for the `duplicates` count at ack time. Bounded: the last `capacity`
// ids added, oldest forgotten first. A miss here is harmless: the drain deduplicates against all
// history in SQL, which is the authority.
//
// An open-addressing table (linear probing, backward-shift deletion) in preallocated arrays plus a
// ring of insertion order: exact (ids are compared in full, never by hash alone, so an event is never
// taken for a duplicate it is not) and about 10x cheaper than two generations of Set at 1M ids, which
// rehash as they grow and churn the old generation of the GC.

/** FNV-1a over UTF-16 code units: the table's hash, which a worker may compute ahead. */
export function idHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
}

export class RecentIds {
  private readonly mask: number;
  /** Slot → id; '' is an empty slot (an event id is never empty). */
  private readonly keys: string[];
  private readonly hashes: Int32Array;
  /** Ids in insertion order (a ring), to forget the oldest. */
  private readonly order: string[];
  private readonly orderHashes: Int32Array;
  private next = 0;
  private size = 0;

  constructor(private readonly capacity: number) {
    let slots = 2;
    while (slots < capacity * 2) slots *= 2;
    this.mask = slots - 1;
    this.keys = new Array<string>(slots).fill('');
    this.hashes = new Int32Array(slots);
    this.order = new Array<string>(capacity).fill('');
    this.orderHashes = new Int32Array(capacity);
  }

  /** `h` must be idHash(id). */
  has(id: string, h = idHash(id)): boolean {
    return id !== '' && this.slotOf(id, h) >= 0;
  }

  /** `h` must be idHash(id). */
  add(id: string, h = idHash(id)): void {
    if (id === '') return;
    if (this.slotOf(id, h) >= 0) return;
    if (this.size === this.capacity) this.remove(this.order[this.next]!, this.orderHashes[this.next]!);
    let i = h & this.mask;
    while (this.keys[i] !== '') i = (i + 1) & this.mask;
    this.keys[i] = id;
    this.hashes[i] = h;
    this.order[this.next] = id;
    this.orderHashes[this.next] = h;
    this.next = this.next + 1 === this.capacity ? 0 : this.next + 1;
    this.size++;
  }

  private slotOf(id: string, h: number): number {
    const { keys, hashes, mask } = this;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const k = keys[i]!;
      if (k === '') return -1;
      if (hashes[i] === h && k === id) return i;
    }
  }

  /** Deletes by shifting later entries of the probe run back, so no tombstones accumulate. */
  private remove(id: string, h: number): void {
    const { keys, hashes, mask } = this;
    let hole = this.slotOf(id, h);
    if (hole < 0) return;
    for (let j = (hole + 1) & mask; keys[j] !== ''; j = (j + 1) & mask) {
      // The entry at j may fill the hole unless its home slot lies after the hole (cyclically).
      if (((j - (hashes[j]! & mask)) & mask) >= ((j - hole) & mask)) {
        keys[hole] = keys[j]!;
        hashes[hole] = hashes[j]!;
        hole = j;
      }
    }
    keys[hole] = '';
    this.size--;
  }
}
