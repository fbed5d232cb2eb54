// What every Kafka client of adpipe shares: its bootstrap brokers and its client id, and the one
// partitioner that puts an event_id in the same partition whichever adpipe process publishes it,
// and how a broker's error is recognised in what the client throws.

import { murmur2 } from '@platformatic/kafka';
import type { StreamUrl } from '../stream/broker.js';

export function clientOptions(url: StreamUrl): { clientId: string; bootstrapBrokers: string[] } {
  return { clientId: 'adpipe', bootstrapBrokers: url.hosts };
}

/**
 * Java's default partitioner for keyed records (positive murmur2 of the key, modulo the partition
 * count, which the client applies): the client's own takes the hash unsigned instead, which would
 * send a key elsewhere than a Java or Kafka Streams producer of the same topic.
 */
export function keyPartition(message: { key?: Buffer }): number {
  return message.key === undefined ? 0 : murmur2(message.key) & 0x7fffffff;
}

/** Whether a client error is, or aggregates, the broker's error of that name (`OFFSET_OUT_OF_RANGE`). */
export function hasKafkaError(err: unknown, apiId: string): boolean {
  if (typeof err !== 'object' || err === null) return false;
  if ((err as { apiId?: unknown }).apiId === apiId) return true;
  const nested = (err as { errors?: unknown }).errors;
  return Array.isArray(nested) && nested.some((e) => hasKafkaError(e, apiId));
}
