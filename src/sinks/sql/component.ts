// A SQL database type as a sink registry entry. The sink and its driver are imported when a sink is
// made, so reading adpipe.yaml loads neither the report engine nor any database client.

import type { Component } from '../../util/registry.js';
import type { Sink, SinkBaseConfig, SinkContext } from '../sink.js';
import { type SqlSinkConfig, sqlSinkSchema } from './config.js';
import { ddlStatements, type SinkDriver, watermarkTableOf } from './connection.js';
import { sinkTables } from './table.js';

/** The driver of each SQL sink type registered. */
const drivers = new Map<string, () => Promise<SinkDriver>>();

export function sqlSinkComponent<const Type extends string>(
  type: Type,
  summary: string,
  driver: () => Promise<SinkDriver>,
): Component<ReturnType<typeof sqlSinkSchema<Type>>, SinkContext, Sink> {
  drivers.set(type, driver);
  return {
    type,
    summary,
    schema: sqlSinkSchema(type),
    async create(config, ctx) {
      const [{ SqlReportSink }, loaded] = await Promise.all([import('./sink.js'), driver()]);
      return new SqlReportSink(config, ctx, loaded);
    },
  };
}

/** The statements a SQL sink's first sync runs, for `adpipe sink init`; undefined for other sinks. */
export async function sqlSinkDdl(config: SinkBaseConfig): Promise<string[] | undefined> {
  const driver = drivers.get(config.type);
  if (!driver) return undefined;
  const sql = config as SqlSinkConfig;
  return ddlStatements((await driver()).dialect, watermarkTableOf(sql), sinkTables(sql));
}
