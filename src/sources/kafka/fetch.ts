// One round of Kafka Fetch requests for a static set of partitions (one request per partition
// leader), turned into stream messages. adpipe fetches itself rather than through the client's
// consumer stream: that stream needs a group's assignment (a rebalance decides the partitions, not
// the URL), and it builds a commit closure and a headers Map per record. Nor through the client's
// consumer.fetch: its parser decodes every record into objects (a BigInt timestamp, key, headers),
// which cost more CPU than the rest of the read; here the response's batches stay bytes
// (fetch-api.ts) and a record costs one small object, its value a view of them (records.ts).

import {
  type ConnectionPool,
  type Consumer,
  FetchIsolationLevels,
  type fetchV17,
  ListOffsetTimestamps,
} from '@platformatic/kafka';
import { componentLogger } from '../../logger.js';
import type { StreamMessage } from '../stream/broker.js';
import { hasKafkaError } from './client.js';
import type { FetchApi, RawFetchPartition } from './fetch-api.js';
import { takeRecords } from './records.js';

const log = componentLogger('kafka');

/**
 * Bytes per partition per fetch. A larger batch still comes whole, but only to the first partition
 * of a request that has data (KIP-74): elsewhere it comes cut off, and is asked for again.
 */
const PARTITION_MAX_BYTES = 4 << 20;
/** Bytes per fetch response: what one read may hold in memory besides the source's buffer. */
const FETCH_MAX_BYTES = 32 << 20;
/**
 * A sessionless full fetch (KIP-227's session id 0, epoch -1): each request names all its
 * partitions, so the broker keeps no fetch session for it.
 */
const NO_SESSION = 0;
const SESSIONLESS_EPOCH = -1;

/**
 * Fetches the partitions in an order that gives each its turn: one a round moved forward goes
 * behind those it did not (Java's consumer does the same), so a partition whose next batch is
 * larger than the limits, cut off behind partitions with data, is asked for first next round and
 * comes whole. In a fixed order it would wait for every partition before it to have nothing new:
 * forever behind a busy one.
 */
export class PartitionFetcher {
  /** Set after a failed fetch: a leader may have moved. */
  private stale = true;

  constructor(
    /** For metadata and offsets. */
    private readonly consumer: Consumer,
    /** The connections the Fetch requests go over, apart from the consumer's (a fetch may wait). */
    private readonly connections: ConnectionPool,
    private readonly api: FetchApi,
    private readonly topic: string,
    /** Each partition's next offset to fetch, advanced by every round; in the order they are asked for. */
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
    let responses: RawFetchPartition[][];
    try {
      responses = await Promise.all(
        [...byLeader].map(async ([node, partitions]) => {
          // Leader -1 while a partition elects one: the retry refreshes the metadata.
          const broker = metadata.brokers.get(node);
          if (!broker) throw new Error(`kafka: partition leader ${node} is no broker in the metadata`);
          return this.api.async(
            await this.connections.get(broker),
            waitMs,
            1,
            FETCH_MAX_BYTES,
            FetchIsolationLevels.READ_COMMITTED,
            NO_SESSION,
            SESSIONLESS_EPOCH,
            [{ topicId: topic.id, partitions }],
            [],
            '',
          );
        }),
      );
    } catch (err) {
      this.stale = true;
      // Retention deleted messages this reader had not fetched yet: go on from what is left.
      if (hasKafkaError(err, 'OFFSET_OUT_OF_RANGE') && (await this.skipDeleted())) return this.fetch(waitMs);
      throw err;
    }
    this.stale = false;
    const out: StreamMessage[] = [];
    const moved: Array<[partition: number, next: number]> = [];
    for (const response of responses)
      for (const p of response) {
        const from = this.next.get(p.partitionIndex)!;
        if (!p.records) continue;
        const next = takeRecords(p.records, from, String(p.partitionIndex), out, p.aborted);
        if (next !== from) moved.push([p.partitionIndex, next]);
      }
    // Only once every partition decoded: a batch that throws (a codec, corrupt bytes) discards the
    // messages decoded before it, so no partition may move past them; all are fetched again.
    for (const [partition, next] of moved) {
      // Re-inserted: to the end of the map's order, the request order.
      this.next.delete(partition);
      this.next.set(partition, next);
    }
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
