// What a SQL database provides to the report-table sink (sink.ts): a driver per database type only
// connects, creates tables, loads a delta file, moves watermarks and reads; the dialect-free core
// computes the deltas. Also the DDL and model fingerprints every driver shares.

import { createHash } from 'node:crypto';
import type { Dialect } from './dialect.js';
import type { SinkTable } from './table.js';

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
  /**
   * Drops the tables and views and forgets their watermarks, so the next sync refills them. A
   * table several loaders share loses only this loader's rows and watermarks, unless it was built
   * by another report model: then every loader's, and each refills on its next sync.
   */
  rebuild(tables: readonly SinkTable[]): Promise<void>;
  watermark(t: SinkTable): Promise<Watermark>;
  /** Applies a delta exactly once: afterwards the watermark is delta.upTo, or nothing changed. */
  apply(t: SinkTable, delta: Delta, hooks?: ApplyHooks): Promise<void>;
  /** Every row of the table (this loader's share) as the report sees it, values as text in column order. */
  read(t: SinkTable): Promise<string[][]>;
  close(): Promise<void>;
}

export interface SinkDriver {
  readonly dialect: Dialect;
  /**
   * Whether delta rows end with the batch they were synced up to and the loader id (ClickHouse's
   * sync tag): a table several loaders share, each keeping its own rows and watermarks. Databases
   * without it hold one loader's sums.
   */
  readonly tagsDeltaRows: boolean;
  /** The loader's share is what `watermark`, `apply`, `read` and `rebuild` see, where tagsDeltaRows. */
  connect(url: string, watermarkTable: string, loader: string): Promise<SinkConnection>;
}

export const WATERMARK_TABLE = 'adpipe_sink_watermark';

/** The table a sink keeps its tables' watermarks in: one per table prefix. */
export function watermarkTableOf(config: { table_prefix: string }): string {
  return `${config.table_prefix}${WATERMARK_TABLE}`;
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
