// Apache Kafka as a broker of adpipe (src/sources/stream/broker.ts), through @platformatic/kafka
// (pure TypeScript, no native build; docs/streams.md says why).

import type { Broker } from '../stream/broker.js';
import { KAFKA_READER_PARAMS } from './params.js';
import { KafkaPublisher } from './publisher.js';
import { KafkaReader } from './reader.js';

export const kafkaBroker: Broker = {
  scheme: 'kafka',
  defaultPort: 9092,
  readerParams: KAFKA_READER_PARAMS,
  reader: (url, { name }) => new KafkaReader(url, name),
  publisher: async (url) => new KafkaPublisher(url),
};
