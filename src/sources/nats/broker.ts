// NATS JetStream as a broker of adpipe (docs/streams.md, "NATS JetStream"):
// `nats://host:4222[,host2]/<subject>?stream=<NAME>&durable=<name>`.

import type { Broker } from '../stream/broker.js';
import { NatsPublisher } from './publisher.js';
import { NatsReader } from './reader.js';

export const natsBroker: Broker = {
  scheme: 'nats',
  defaultPort: 4222,
  readerParams: ['stream', 'durable'],
  reader: (url, { name }) => new NatsReader(url, name),
  publisher: (url) => NatsPublisher.open(url),
};
