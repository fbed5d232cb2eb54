// The sink types adpipe.yaml's `sinks:` may name. A new kind of sink is one registration here: a type
// name, its zod config schema (made with sinkConfigSchema) and a factory.

import { Registry } from '../util/registry.js';
import { lakeSinkSchema } from './lake/config.js';
import type { Sink, SinkContext } from './sink.js';
import { sqlSinkComponent } from './sql/component.js';

export const sinkRegistry = new Registry<SinkContext, Sink>('sink');

sinkRegistry.register(
  sqlSinkComponent(
    'mysql',
    'MySQL/MariaDB report tables, deltas bulk-loaded and upserted in one transaction',
    async () => (await import('./mysql/index.js')).mysqlDriver,
  ),
);
sinkRegistry.register(
  sqlSinkComponent(
    'postgres',
    'PostgreSQL report tables, deltas copied in and upserted in one transaction',
    async () => (await import('./postgres/index.js')).postgresDriver,
  ),
);
sinkRegistry.register(
  sqlSinkComponent(
    'clickhouse',
    'ClickHouse report tables, each delta one tagged insert',
    async () => (await import('./clickhouse/index.js')).clickhouseDriver,
  ),
);
sinkRegistry.register({
  type: 'lake',
  summary: "the Parquet lake's copy on S3 as dt=/hour= partitions, pushed after each commit",
  schema: lakeSinkSchema,
  create: async (config, ctx) => new (await import('./lake/sink.js')).LakeSink(config, ctx),
});
