// Publishes records to a Kafka topic, keyed by event_id (one partitioner in every adpipe process,
// so repeats of an id meet in one partition), idempotent and acknowledged by all in-sync replicas:
// publish resolves only once the broker holds every record.

import { ProduceAcks, Producer } from '@platformatic/kafka';
import type { PublishRecord, StreamPublisher, StreamUrl } from '../stream/broker.js';
import { clientOptions, keyPartition, signIn } from './client.js';

/** Bytes per produce request: a partition's record batch stays under the broker's 1 MB message.max.bytes. */
const SEND_BYTES = 900_000;

export class KafkaPublisher implements StreamPublisher {
  private readonly producer: Producer;
  private readonly topic: string;

  /**
   * A publisher whose URL has signed in to a broker, so refused credentials or an untrusted
   * certificate fail `serve --publish` and `generate --to` at start: the producer itself, being
   * idempotent, would retry them forever at every publish.
   */
  static async open(url: StreamUrl): Promise<KafkaPublisher> {
    await signIn(url);
    return new KafkaPublisher(url);
  }

  private constructor(url: StreamUrl) {
    this.topic = url.name;
    this.producer = new Producer({
      ...clientOptions(url),
      idempotent: true,
      acks: ProduceAcks.ALL,
      partitioner: keyPartition,
    });
  }

  async publish(records: readonly PublishRecord[]): Promise<void> {
    let chunk: Array<{ topic: string; key: Buffer; value: Buffer }> = [];
    let bytes = 0;
    for (const r of records) {
      const value = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
      if (bytes + value.length > SEND_BYTES && chunk.length > 0) {
        // In order: an idempotent producer's sequence numbers keep a partition's records in send order.
        await this.producer.send({ messages: chunk });
        chunk = [];
        bytes = 0;
      }
      chunk.push({ topic: this.topic, key: Buffer.from(r.key), value });
      bytes += value.length + r.key.length;
    }
    if (chunk.length > 0) await this.producer.send({ messages: chunk });
  }

  async close(): Promise<void> {
    await this.producer.close();
  }
}
