// Publishes the records of concurrent requests as groups, one publish in flight at a time (the
// spool's group commit, for a broker): an idempotent Kafka producer refuses a partition's batches
// that overtake each other (OUT_OF_ORDER_SEQUENCE_NUMBER, seen under 16 concurrent requests), and
// one publish per group costs the broker one round trip for many requests. A group holds at most
// GROUP_BYTES of values, below Kafka's default record-batch limit (message.max.bytes, 1 MB) however
// its keys spread over partitions; a request larger than that is published in several groups.

import type { PublishRecord, StreamPublisher } from '../../sources/stream/broker.js';

const GROUP_BYTES = 900 * 1024;

/** A request's records being published: settled once all are acknowledged, or once one group fails. */
interface Waiter {
  left: number;
  settled: boolean;
  resolve(): void;
  reject(err: unknown): void;
}

export class GroupPublisher {
  /** Records waiting for a publish, each with the request it belongs to. */
  private records: PublishRecord[] = [];
  private owners: Waiter[] = [];
  private running = false;

  constructor(private readonly publisher: StreamPublisher) {}

  /** Resolves once the broker has all of `records`. */
  publish(records: readonly PublishRecord[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { left: records.length, settled: false, resolve, reject };
      for (const r of records) {
        this.records.push(r);
        this.owners.push(waiter);
      }
      if (!this.running) void this.run();
    });
  }

  private async run(): Promise<void> {
    this.running = true;
    while (this.records.length > 0) {
      const n = groupSize(this.records);
      const group = this.records.splice(0, n);
      const owners = this.owners.splice(0, n);
      let failure: unknown;
      try {
        await this.publisher.publish(group);
      } catch (err) {
        failure = err ?? new Error('publish failed');
      }
      for (const w of owners) {
        if (w.settled) continue;
        if (failure !== undefined) {
          w.settled = true;
          w.reject(failure);
        } else if (--w.left === 0) {
          w.settled = true;
          w.resolve();
        }
      }
    }
    this.running = false;
  }
}

/** Records from the start that fit in GROUP_BYTES of values (at least one). */
function groupSize(records: readonly PublishRecord[]): number {
  let bytes = 0;
  for (let i = 0; i < records.length; i++) {
    const v = records[i]!.value;
    bytes += typeof v === 'string' ? Buffer.byteLength(v) : v.length;
    if (bytes > GROUP_BYTES) return Math.max(1, i);
  }
  return records.length;
}
