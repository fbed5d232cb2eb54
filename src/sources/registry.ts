// The source types adpipe.yaml's `sources:` may name, each with its config schema and factory. The
// HTTP intake is not among them: it is configured by `server:` and started by the collector.

import { Registry } from '../util/registry.js';
import { FeedSource, feedSourceSchema } from './feed/source.js';
import { FilesSource, filesSourceSchema } from './files/source.js';
import type { Source } from './source.js';
import { createStreamSource, streamSourceSchema } from './stream/config.js';

export interface SourceFactoryContext {
  dataDir: string;
}

export const sourceRegistry = new Registry<SourceFactoryContext, Source>('source');

sourceRegistry.register({
  type: 'files',
  summary: 'local files and folders, s3:// prefixes (jsonl, ndjson, json, csv, optionally .gz, parquet)',
  schema: filesSourceSchema,
  create: (config) => FilesSource.create(config),
});

sourceRegistry.register({
  type: 'feed',
  summary: 'a Fernet-encrypted log feed over HTTP, pulled page by page, its cursor committed with its events',
  schema: feedSourceSchema,
  create: (config) => FeedSource.create(config),
});

const STREAMS = {
  kafka: 'Kafka topic partitions (all, or ?partitions=0,1), offsets committed with their events',
  redis: 'a Redis stream read by a consumer group, ids committed with their events, then XACKed',
  nats: 'a NATS JetStream subject through a durable pull consumer, sequences committed with their events',
} as const;

for (const [type, summary] of Object.entries(STREAMS))
  sourceRegistry.register({
    type,
    summary,
    schema: streamSourceSchema(type),
    create: async (config) => createStreamSource(config),
  });

/** A `sources:` entry, validated against its type's schema by the config. */
export function createSource(config: Record<string, unknown>, ctx: SourceFactoryContext): Promise<Source> {
  return sourceRegistry.get(config.type as string).create(config, ctx);
}
