// The config keys of a SQL report-table sink (mysql, postgres, clickhouse in adpipe.yaml `sinks`).

import { z } from 'zod';
import { ianaZone } from '../../util/zone.js';
import { sinkConfigSchema } from '../sink.js';

export function sqlSinkSchema<const Type extends string>(type: Type) {
  return sinkConfigSchema(type, {
    url: z.string().min(1),
    /** Reports to keep (default: all). */
    reports: z.array(z.string()).min(1).optional(),
    /** Zone of the days in the tables (default: adpipe.yaml's tz). */
    tz: ianaZone.optional(),
    table_prefix: z.string().default(''),
    /** Report → table name, instead of prefix + report name. */
    tables: z.record(z.string(), z.string()).default({}),
    /** Report → { field → column name }. */
    columns: z.record(z.string(), z.record(z.string(), z.string())).default({}),
  });
}

export type SqlSinkConfig = z.output<ReturnType<typeof sqlSinkSchema>>;
