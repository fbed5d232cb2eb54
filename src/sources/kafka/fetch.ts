// One round of Kafka Fetch requests for a static set of partitions (one request per partition
// leader), turned into stream messages. adpipe fetches itself rather than through the client's
// consumer stream: that stream needs a group's assignment (a rebalance decides the partitions, not
// the URL), and it builds a commit closure and a headers Map per record. Here a record costs one
// small object, its value a view of the response buffer.

import { type Consumer, type fetchV17, ListOffsetTimestamps } from '@platformatic/kafka';
import { componentLogger } from '../../logger.js';
import type { StreamMessage } from '../stream/broker.js';
import { hasKafkaError } from './client.js';

const log = componentLogger('kafka');

/** Bytes per partition per fetch (a record larger than this still comes whole, KIP-74). */
const PARTITION_MAX_BYTES = 4 << 20;
/** Bytes per fetch response: what one read may hold in memory besides the source's buffer. */
const FETCH_MAX_BYTES = 32 << 20;
/** A batch of transaction markers, not records. */
const CONTROL_BATCH = 0x20;

type FetchResponse = fetchV17.FetchResponse;
type FetchPartition = fetchV17.FetchResponsePartition;

export class PartitionFetcher {
  /** Set after a failed fetch: a leader may have moved. */
  private stale = true;

  constructor(
    private readonly consumer: Consumer,
    private readonly topic: string,
    /** Each partition's next offset to fetch, advanced by every round. */
    private readonly next: Map<number, number>,
  ) {}

  /** The messages at each partition's next offset and after, waiting up to waitMs for any. */
  async fetch(waitMs: number): Promise<StreamMessage[]> {
    const metadata = await this.consumer.metadata({ topics: [this.topic], forceUpdate: this.stale });
    const topic = metadata.topics.get(this.topic)!;
    const byLeader = new Map<number, fetchV17.FetchRequestPartition[]>();
    for (const [partition, fetchOffset] of this.next) {
      const leader = topic.partitions[partition]!.leader;
      const list = byLeader.get(leader) ?? [];
      byLeader.set(leader, list);
      list.push({
        partition,
        fetchOffset: BigInt(fetchOffset),
        partitionMaxBytes: PARTITION_MAX_BYTES,
        currentLeaderEpoch: -1,
        lastFetchedEpoch: -1,
      });
    }
    let responses: FetchResponse[];
    try {
      responses = await Promise.all(
        [...byLeader].map(([node, partitions]) =>
          this.consumer.fetch({
            node,
            topics: [{ topicId: topic.id, partitions }],
            maxWaitTime: waitMs,
            minBytes: 1,
            maxBytes: FETCH_MAX_BYTES,
          }),
        ),
      );
    } catch (err) {
      this.stale = true;
      // Retention deleted messages this reader had not fetched yet: go on from what is left.
      if (hasKafkaError(err, 'OFFSET_OUT_OF_RANGE') && (await this.skipDeleted())) return this.fetch(waitMs);
      throw err;
    }
    this.stale = false;
    const out: StreamMessage[] = [];
    for (const response of responses)
      for (const t of response.responses) for (const p of t.partitions) this.take(p, out);
    return out;
  }

  /**
   * Moves each partition that is behind the broker's earliest offset up to it, logging what was
   * lost: retention deleted those messages before adpipe loaded them. Whether any moved.
   */
  private async skipDeleted(): Promise<boolean> {
    const partitions = [...this.next.keys()];
    const earliest = await listOffsets(this.consumer, this.topic, partitions, ListOffsetTimestamps.EARLIEST);
    let moved = false;
    for (const p of partitions) {
      const from = this.next.get(p)!;
      if (from >= earliest[p]!) continue;
      log.error(
        { topic: this.topic, partition: p, next: from, earliest: earliest[p], lost: earliest[p]! - from },
        'the broker deleted messages before adpipe loaded them (retention); going on from its earliest',
      );
      this.next.set(p, earliest[p]!);
      moved = true;
    }
    return moved;
  }

  /** Appends a partition's records from its next offset on, and advances it past them. */
  private take(part: FetchPartition, out: StreamMessage[]): void {
    const from = this.next.get(part.partitionIndex)!;
    const stream = String(part.partitionIndex);
    let next = from;
    for (const batch of part.records ?? []) {
      // Offsets as numbers: exact up to 2^53, beyond any partition's life.
      const first = Number(batch.firstOffset);
      if ((batch.attributes & CONTROL_BATCH) === 0)
        for (const record of batch.records) {
          const offset = first + record.offsetDelta;
          // A compressed batch comes whole: records before the asked offset were read already.
          if (offset < from) continue;
          const position = String(offset);
          // The client reads a null value (a tombstone) as an empty buffer: both carry no event.
          out.push(
            record.value.length === 0
              ? { stream, position, next: String(offset + 1), value: undefined, missing: 'kafka.tombstone' }
              : { stream, position, next: String(offset + 1), value: record.value },
          );
        }
      next = Math.max(next, first + batch.lastOffsetDelta + 1);
    }
    this.next.set(part.partitionIndex, next);
  }
}

/** Each partition's offset at a timestamp (EARLIEST, LATEST), indexed by partition. */
export async function listOffsets(
  consumer: Consumer,
  topic: string,
  partitions: number[],
  timestamp: bigint,
): Promise<number[]> {
  const listed = await consumer.listOffsets({
    topics: [topic],
    partitions: { [topic]: partitions },
    timestamp,
  });
  return (listed.get(topic) ?? []).map(Number);
}
