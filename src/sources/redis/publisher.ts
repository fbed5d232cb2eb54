// Publishing to a Redis stream (`serve --publish redis://…`, `generate --to redis://…`): one XADD per
// record, its value under the URL's field. Commands of one call leave in one write (node-redis
// pipelines what is sent in the same tick), in chunks so a big call never queues everything at once.
// The client's events drive the publisher's link (a collector's /readyz): down from the error that
// ended readiness (a closed socket, a failed reconnection) or a close, up at 'ready'.

import type { PublishRecord, StreamPublisher } from '../stream/broker.js';
import { BrokerLink } from '../stream/link.js';
import { connectRedis, type RedisSettings } from './settings.js';

/** Records per pipelined chunk. */
const PUBLISH_CHUNK = 5_000;

export async function redisPublisher(settings: RedisSettings): Promise<StreamPublisher> {
  const client = await connectRedis(settings, 'publish');
  const link = new BrokerLink();
  // A dropped connection ends readiness before its error is emitted (a reconnection follows); an
  // error while still ready (a reply the decoder could not read) is not the connection's.
  client.on('error', (err: Error) => {
    if (!client.isReady) link.lost(`${err.message}, reconnecting`);
  });
  client.on('end', () => link.lost('connection closed'));
  client.on('ready', () => link.restored());
  return {
    link,
    // One stream, so the record's key (its event_id) places nothing: Redis orders all entries.
    async publish(records: readonly PublishRecord[]): Promise<void> {
      for (let i = 0; i < records.length; i += PUBLISH_CHUNK)
        await Promise.all(
          records
            .slice(i, i + PUBLISH_CHUNK)
            .map((r) => client.sendCommand(['XADD', settings.key, '*', settings.field, r.value])),
        );
    },
    async close(): Promise<void> {
      if (client.isOpen) await client.close();
    },
  };
}
