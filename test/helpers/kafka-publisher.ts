// A Kafka broker for `serve --publish` in tests, until the Kafka broker module (src/sources/kafka/)
// is merged into brokers.ts: a publisher on the real client, idempotent with acks=all, keyed by
// event_id. Only `publisher` is implemented; the stream source's reader is not this file's concern.
// The lead removes this file (and test/collector/publish-cli.ts's use of it) at merge.

import { ProduceAcks, Producer, stringSerializer } from '@platformatic/kafka';
import type { Broker, PublishRecord, StreamPublisher, StreamUrl } from '../../src/sources/stream/broker.js';

export const testKafkaBroker: Broker = {
  scheme: 'kafka',
  defaultPort: 9092,
  readerParams: [],
  reader() {
    throw new Error('test/helpers/kafka-publisher.ts publishes only');
  },
  async publisher(url: StreamUrl): Promise<StreamPublisher> {
    const producer = new Producer({
      clientId: 'adpipe-test-collector',
      bootstrapBrokers: url.hosts,
      // Values as they come: the collector's spool lines are Buffers already (no copy to a string and back).
      serializers: {
        key: stringSerializer,
        value: (v?: Buffer | string) => (typeof v === 'string' ? Buffer.from(v) : v),
      },
      idempotent: true,
      acks: ProduceAcks.ALL,
      // A broker that is down fails a send within seconds rather than after the default retries.
      retries: 1,
      retryDelay: 200,
      timeout: 3000,
    });
    return {
      async publish(records: readonly PublishRecord[]) {
        await producer.send({
          messages: records.map((r) => ({ topic: url.name, key: r.key, value: r.value })),
        });
      },
      close: () => producer.close(),
    };
  },
};
