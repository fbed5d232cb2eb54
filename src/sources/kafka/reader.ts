// A Kafka topic's partitions as a stream reader (src/sources/stream/broker.ts): a static set of
// partitions (the URL's, else all at open), each a stream keyed by its number with the next offset
// as its position. No group membership and no rebalancing: which loader reads which partition is
// the deployment's choice (docs/scale-out.md). Each partition starts after the warehouse's
// committed position, else at the URL's start (earliest by default). Offsets go to the consumer
// group only after the warehouse commit, for lag monitoring: adpipe never resumes from them.

import { type ConnectionPool, Consumer, ListOffsetTimestamps } from '@platformatic/kafka';
import { AdpipeError } from '../../errors.js';
import type { Positions } from '../source.js';
import type { StreamMessage, StreamReader, StreamUrl } from '../stream/broker.js';
import { clientOptions, connectError, connectionPool, hasKafkaError } from './client.js';
import { listOffsets, PartitionFetcher } from './fetch.js';
import { fetchApi } from './fetch-api.js';
import { type KafkaReaderParams, readerParams } from './params.js';

export class KafkaReader implements StreamReader {
  readonly label: string;
  private readonly url: StreamUrl;
  private readonly params: KafkaReaderParams;
  private readonly consumer: Consumer;
  /** The Fetch requests' connections (fetch.ts): the consumer's serve metadata, offsets and commits. */
  private readonly connections: ConnectionPool;
  private fetcher: PartitionFetcher | undefined;
  /** Fetched messages not handed out yet (a read asked for fewer). */
  private queue: StreamMessage[] = [];
  /** The next fetch, started while a flood's messages are being batched and loaded. */
  private ahead: Promise<StreamMessage[]> | undefined;

  constructor(url: StreamUrl, sourceName: string) {
    this.params = readerParams(url, sourceName);
    this.label = `kafka:${this.params.topic}`;
    this.url = url;
    this.consumer = new Consumer({ ...clientOptions(url), groupId: this.params.group });
    this.connections = connectionPool(url);
    // Commits outside any membership (a "simple" group, as Java's assign() + commitSync() make):
    // the broker takes them from generation -1 and no member id.
    this.consumer.generationId = -1;
    this.consumer.memberId = '';
  }

  async open(committed: Positions): Promise<void> {
    try {
      await this.position(committed);
    } catch (err) {
      // A source that failed to open is not closed by the runtime: its sockets would keep the process up.
      await this.close().catch(() => undefined);
      if (hasKafkaError(err, 'UNKNOWN_TOPIC_OR_PARTITION'))
        throw new AdpipeError('ADP_ERR_CONFIG', [
          `${this.label}: no such topic on ${this.url.hosts.join(',')}`,
        ]);
      throw connectError(err, this.url);
    }
  }

  private async position(committed: Positions): Promise<void> {
    const { topic, start } = this.params;
    const metadata = await this.consumer.metadata({ topics: [topic], forceUpdate: true });
    const count = metadata.topics.get(topic)!.partitionsCount;
    const partitions = this.params.partitions ?? Array.from({ length: count }, (_, p) => p);
    const absent = partitions.filter((p) => p >= count);
    if (absent.length > 0)
      throw new AdpipeError('ADP_ERR_CONFIG', [
        `${this.label}: no partition ${absent.join(', ')} (the topic has ${count})`,
      ]);
    const fresh = await listOffsets(
      this.consumer,
      topic,
      partitions,
      start === 'latest' ? ListOffsetTimestamps.LATEST : ListOffsetTimestamps.EARLIEST,
    );
    const next = new Map<number, number>();
    for (const p of partitions) {
      const at = committed[String(p)];
      next.set(p, at === undefined ? fresh[p]! : Number(at));
    }
    // A committed position whose messages retention has deleted since: the first fetch moves past it.
    const api = await fetchApi(this.consumer, this.label);
    this.fetcher = new PartitionFetcher(this.consumer, this.connections, api, topic, next);
  }

  async read(max: number, waitMs: number): Promise<StreamMessage[]> {
    if (this.queue.length === 0) {
      const ahead = this.ahead;
      this.ahead = undefined;
      this.queue = await (ahead ?? this.fetcher!.fetch(waitMs));
    }
    const out = this.queue.length <= max ? this.queue : this.queue.slice(0, max);
    this.queue = out === this.queue ? [] : this.queue.slice(max);
    // A full fetch means a backlog: the next one travels while these are batched. The source stops
    // reading when its buffer is full, so at most one fetch waits here.
    if (this.queue.length === 0 && out.length > 0) {
      this.ahead = this.fetcher!.fetch(waitMs);
      // Its failure is the next read's to report, not an unhandled rejection now.
      this.ahead.catch(() => undefined);
    }
    return out;
  }

  async ack(_messages: readonly StreamMessage[], positions: Positions): Promise<void> {
    const offsets = Object.entries(positions).map(([partition, next]) => ({
      topic: this.params.topic,
      partition: Number(partition),
      // Kafka's convention: the committed offset is the next one to read, so lag = end - committed.
      offset: BigInt(next),
      leaderEpoch: -1,
    }));
    if (offsets.length > 0) await this.consumer.commit({ offsets });
  }

  async close(): Promise<void> {
    await Promise.all([this.connections.close(), this.consumer.close(true)]);
  }
}
