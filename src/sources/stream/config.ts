// The config of a stream source (`sources:` entries of type kafka, redis, nats; `adpipe stream
// --from`), one schema for every broker: the URL says where, the rest how to batch.

import { z } from 'zod';
import { INTERVAL_PATTERN, parseInterval } from '../../util/every.js';
import { brokerOf, parseStreamUrl } from './brokers.js';
import { StreamSource } from './source.js';

export function streamSourceSchema<const Type extends string>(type: Type) {
  return z
    .object({
      type: z.literal(type),
      /** `kafka://host:9092/topic?partitions=0,1`, `redis://host:6379/stream?group=g`, `nats://host:4222/subject?durable=d`. */
      url: z.string().startsWith(`${type}://`),
      /** Unique among the sources: the key of its committed positions (default `<type>:<topic>`). */
      name: z.string().min(1).optional(),
      /** A batch holds at most this many messages… */
      batch_events: z.number().int().positive().default(250_000),
      /** …and is cut when its oldest message has waited this long (ms). */
      batch_ms: z.number().int().positive().default(1000),
      /** A mapping file (YAML) turning the stream's records into contract events. */
      mapping: z.string().min(1).optional(),
      /** End once nothing has come for this long (`5s`); unset: run until stopped. */
      until_idle: z.string().regex(INTERVAL_PATTERN).optional(),
    })
    .strict();
}

export type StreamSourceConfig = z.output<ReturnType<typeof streamSourceSchema>>;

export function createStreamSource(config: StreamSourceConfig): StreamSource {
  const broker = brokerOf(config.url);
  const url = parseStreamUrl(config.url, broker, broker.readerParams);
  const name = config.name ?? `${broker.scheme}:${url.name}`;
  return new StreamSource(broker.scheme, broker.reader(url, { name }), {
    name,
    batchEvents: config.batch_events,
    batchMs: config.batch_ms,
    untilIdleMs: config.until_idle === undefined ? undefined : parseInterval(config.until_idle),
    mapping: config.mapping,
  });
}
