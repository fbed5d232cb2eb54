// Redis Streams as a broker of adpipe (src/sources/stream/broker.ts): `redis://host:6379/<stream>`,
// read through a consumer group (reader.ts), published to with XADD (publisher.ts). docs/streams.md.

import type { Broker } from '../stream/broker.js';
import { redisPublisher } from './publisher.js';
import { RedisStreamReader } from './reader.js';
import { REDIS_READER_PARAMS, redisSettings } from './settings.js';

export const redisBroker: Broker = {
  scheme: 'redis',
  defaultPort: 6379,
  readerParams: REDIS_READER_PARAMS,
  reader: (url, { name }) => new RedisStreamReader(redisSettings(url, name)),
  // A publisher has no consumer: the source name only defaults the reader's.
  publisher: (url) => redisPublisher(redisSettings(url, 'adpipe')),
};
