// What every Kafka client of adpipe shares: its bootstrap brokers and its client id, and the one
// partitioner that puts an event_id in the same partition whichever adpipe process publishes it.

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
