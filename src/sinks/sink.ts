// A sink: a SQL database adpipe keeps report tables in. The dialect-free core (sync.ts) computes
// deltas and watermarks; a driver per database type only connects, loads a delta file and reads.

import { createHash } from 'node:crypto';
import type { Config, SinkConfig } from '../config.js';
import { AdpipeError } from '../errors.js';
import type { Dialect } from '../sql/dialect.js';
import { type SinkTable, sinkTables } from '../sql/table.js';

/** One table's pending delta: a CSV file of rows (sink columns in table order) for batches in (after, upTo]. */
export interface Delta {
  file: string;
  rows: number;
  after: number;
  upTo: number;
}

export interface ApplyHooks {
  /** Runs when the delta is written but not yet committed (after the insert where there are no transactions). */
  beforeCommit?: (sessionId: string) => Promise<void>;
}

export interface Watermark {
  batchId: number;
  /** When it last moved, ISO 8601, when the sink records it. */
  updatedAt?: string;
}

export interface SinkConnection {
  readonly dialect: Dialect;
  /** The server's id for this session (connection id, backend pid), for logs and for killing it. */
  readonly sessionId: string;
  /**
   * Creates absent tables, the watermark and model tables; (re)creates the views. Returns the tables
   * built by another report model (see staleTables), which it leaves alone.
   */
  init(tables: readonly SinkTable[]): Promise<SinkTable[]>;
  /** Drops the tables and views and forgets their watermarks, so the next sync refills them. */
  rebuild(tables: readonly SinkTable[]): Promise<void>;
  watermark(t: SinkTable): Promise<Watermark>;
  /** Applies a delta exactly once: afterwards the watermark is delta.upTo, or nothing changed. */
  apply(t: SinkTable, delta: Delta, hooks?: ApplyHooks): Promise<void>;
  /** Every row of the table as the report sees it, values as text in the order of the table's columns. */
  read(t: SinkTable): Promise<string[][]>;
  close(): Promise<void>;
}

export interface SinkDriver {
  readonly dialect: Dialect;
  /** Whether delta rows end with the batch they were synced up to (ClickHouse's sync tag). */
  readonly tagsDeltaRows: boolean;
  connect(config: SinkConfig, watermarkTable: string): Promise<SinkConnection>;
}

const DRIVERS: Record<SinkConfig['type'], () => Promise<SinkDriver>> = {
  mysql: async () => (await import('./mysql/index.js')).mysqlDriver,
  postgres: async () => (await import('./postgres/index.js')).postgresDriver,
  clickhouse: async () => (await import('./clickhouse/index.js')).clickhouseDriver,
};

export function sinkDriver(type: SinkConfig['type']): Promise<SinkDriver> {
  return DRIVERS[type]();
}

/** A sink from adpipe.yaml with its defaults resolved. */
export interface ConfiguredSink {
  name: string;
  config: SinkConfig;
  tz: string;
  tables: SinkTable[];
  watermarkTable: string;
}

export const WATERMARK_TABLE = 'adpipe_sink_watermark';

/** The configured sinks (or the one named), named `type` or `type-N` unless they have a name. */
export function configuredSinks(config: Config, name?: string): ConfiguredSink[] {
  const all = config.sinks.map((s, i) => ({
    name:
      s.name ?? (config.sinks.filter((o) => o.type === s.type).length > 1 ? `${s.type}-${i + 1}` : s.type),
    config: s,
    tz: s.tz ?? config.tz,
    tables: sinkTables(s),
    watermarkTable: `${s.table_prefix}${WATERMARK_TABLE}`,
  }));
  if (name === undefined) return all;
  const found = all.filter((s) => s.name === name);
  if (found.length === 0)
    throw new AdpipeError('ADP_ERR_USAGE', [
      `no sink named ${name} (configured: ${all.map((s) => s.name).join(', ') || 'none'})`,
    ]);
  return found;
}

/** The statements `init` runs, for `adpipe sink init` to print. */
export function ddlStatements(
  dialect: Dialect,
  watermarkTable: string,
  tables: readonly SinkTable[],
): string[] {
  return [
    dialect.createWatermark(watermarkTable),
    dialect.createModelTable(modelTableOf(watermarkTable)),
    ...tables.flatMap((t) => [...dialect.createTable(t), ...dialect.createView(t)]),
  ];
}

/** The table next to the watermark table that records each report table's model fingerprint. */
export function modelTableOf(watermarks: string): string {
  return `${watermarks}_model`;
}

/**
 * What a sink table's rows mean: its columns, and the report's declaration (which events each
 * measure counts or sums). The rollups' storage types are not part of it: they never reach a sink.
 */
export function modelFingerprint(d: Dialect, t: SinkTable): string {
  const { types, dimensions, measures } = t.report;
  return createHash('sha256')
    .update(JSON.stringify({ ddl: d.createTable(t), types, dimensions, measures }))
    .digest('hex');
}

/**
 * Tables whose rows were built by another report model: a recorded fingerprint that differs, or
 * none (a sink from before fingerprints) where adpipe has already synced batches.
 */
export function staleTables(
  d: Dialect,
  tables: readonly SinkTable[],
  recorded: ReadonlyMap<string, string>,
  synced: ReadonlySet<string>,
): SinkTable[] {
  return tables.filter((t) => {
    const fingerprint = recorded.get(t.name);
    return fingerprint === undefined ? synced.has(t.name) : fingerprint !== modelFingerprint(d, t);
  });
}

/** Wraps a driver error as ADP_ERR_SINK_FAILED naming the sink. */
export function sinkError(sink: string, err: unknown): AdpipeError {
  if (err instanceof AdpipeError && (err.code === 'ADP_ERR_SINK_FAILED' || err.code === 'ADP_ERR_SINK_MODEL'))
    return err;
  return new AdpipeError('ADP_ERR_SINK_FAILED', [sink, (err as Error).message ?? String(err)], {
    cause: err,
  });
}
