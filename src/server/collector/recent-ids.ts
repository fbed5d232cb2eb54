// Ids acknowledged recently, for the `duplicates` count at ack time. Bounded: two generations of at
// most `capacity / 2` ids each; when the young one fills, the old one is dropped. A miss here is
// harmless: the drain deduplicates against all history in SQL, which is the authority.

export class RecentIds {
  private young = new Set<string>();
  private old = new Set<string>();

  constructor(private readonly capacity: number) {}

  has(id: string): boolean {
    return this.young.has(id) || this.old.has(id);
  }

  add(id: string): void {
    if (this.young.size >= this.capacity / 2) {
      this.old = this.young;
      this.young = new Set();
    }
    this.young.add(id);
  }
}
