// Apache Kafka as a broker of adpipe (src/sources/stream/broker.ts), through @platformatic/kafka
// (pure TypeScript, no native build; docs/streams.md says why).

import type { Broker } from '../stream/broker.js';
import { KAFKA_READER_PARAMS } from './params.js';
import { KafkaPublisher } from './publisher.js';
import { KafkaReader } from './reader.js';
import { KAFKA_SECURITY_PARAMS } from './security.js';

export const kafkaBroker: Broker = {
  scheme: 'kafka',
  defaultPort: 9092,
  // The security parameters are the publisher's too: publishTarget accepts the reader's.
  readerParams: [...KAFKA_READER_PARAMS, ...KAFKA_SECURITY_PARAMS],
  reader: (url, { name }) => new KafkaReader(url, name),
  publisher: (url) => KafkaPublisher.open(url),
};
