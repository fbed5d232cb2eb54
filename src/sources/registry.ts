// The source types adpipe.yaml's `sources:` may name, each with its config schema and factory. The
// HTTP intake is not among them: it is configured by `server:` and started by the collector.

import { Registry } from '../util/registry.js';
import { FeedSource, feedSourceSchema } from './feed/source.js';
import { FilesSource, filesSourceSchema } from './files/source.js';
import type { Source } from './source.js';

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

/** A `sources:` entry, validated against its type's schema by the config. */
export function createSource(config: Record<string, unknown>, ctx: SourceFactoryContext): Promise<Source> {
  return sourceRegistry.get(config.type as string).create(config, ctx);
}
