// The embedded warehouse: one DuckDB database file per data dir holding the ledger, the lake
// manifest, the dedup index, metadata dimensions and the rollups. The lake itself is Parquet files
// beside it; this database is the commit point for both (see docs/ARCHITECTURE.md).

import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { type DuckDBConnection, DuckDBInstance, type DuckDBValue } from '@duckdb/node-api';
import { AdpipeError } from '../errors.js';
import { lockedError, lockHolder } from '../util/run-lock.js';
import { checkRollups, migrate } from './schema.js';

export type Params = DuckDBValue[] | Record<string, DuckDBValue>;
export type Row = Record<string, unknown>;

export interface WarehouseOptions {
  readOnly?: boolean;
  /** DuckDB memory limit, e.g. '2GB'; default $ADPIPE_MEMORY_LIMIT or 1GB. */
  memoryLimit?: string;
  threads?: number;
}

export class Warehouse {
  private constructor(
    readonly dataDir: string,
    private readonly instance: DuckDBInstance,
    readonly conn: DuckDBConnection,
    private readonly owner = true,
  ) {}

  /**
   * Another connection to the same database, e.g. for API queries beside an ingesting connection:
   * each has its own transactions and temp tables. Closing it leaves the database open.
   */
  async fork(): Promise<Warehouse> {
    const conn = await this.instance.connect();
    await conn.run("SET TimeZone = 'UTC'");
    return new Warehouse(this.dataDir, this.instance, conn, false);
  }

  static async open(dataDir: string, options: WarehouseOptions = {}): Promise<Warehouse> {
    // DuckDB reads a `?` in a database path as the start of options and then puts the WAL
    // elsewhere (`d?x/warehouse.duckdb` gets `d.wal?x/…`): refused before anything is written.
    if (path.resolve(dataDir).includes('?'))
      throw new AdpipeError('ADP_ERR_CONFIG', [`the data dir path may not contain "?" (${dataDir})`]);
    const file = path.join(dataDir, 'warehouse.duckdb');
    // A reader of a data dir nothing was ingested into gets the next step, not DuckDB's complaint.
    if (options.readOnly && !existsSync(file)) throw new AdpipeError('ADP_ERR_WAREHOUSE_NO_DATA', [dataDir]);
    mkdirSync(dataDir, { recursive: true });
    const config: Record<string, string> = {};
    if (options.readOnly) config.access_mode = 'READ_ONLY';
    // Bounded by default so a big ingest group spills to disk instead of growing the process.
    config.memory_limit = options.memoryLimit ?? process.env.ADPIPE_MEMORY_LIMIT ?? '1GB';
    if (options.threads) config.threads = String(options.threads);
    // Temp files for large sorts and joins stay inside the data dir, never in /tmp.
    config.temp_directory = path.join(dataDir, 'tmp');
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(file, config);
    } catch (err) {
      // Another process has the database: a live lock holder says which and what to do instead.
      const holder = lockHolder(dataDir);
      if (holder) throw lockedError(dataDir, holder, err);
      throw new AdpipeError('ADP_ERR_WAREHOUSE_UNREADABLE', [file, (err as Error).message], { cause: err });
    }
    const conn = await instance.connect();
    // Timestamps are instants; the session zone is UTC so nothing local leaks into partitions.
    await conn.run("SET TimeZone = 'UTC'");
    const wh = new Warehouse(dataDir, instance, conn);
    if (options.readOnly)
      await checkRollups(wh).catch((err) => {
        wh.close();
        throw err;
      });
    else await migrate(wh);
    return wh;
  }

  /**
   * An in-memory engine beside a data dir, for reading its files (dead letters) without opening the
   * database, which a running `adpipe serve` holds.
   */
  static async detached(dataDir: string): Promise<Warehouse> {
    if (!existsSync(path.join(dataDir, 'warehouse.duckdb')))
      throw new AdpipeError('ADP_ERR_WAREHOUSE_NO_DATA', [dataDir]);
    const instance = await DuckDBInstance.create(':memory:');
    const conn = await instance.connect();
    await conn.run("SET TimeZone = 'UTC'");
    return new Warehouse(dataDir, instance, conn);
  }

  get lakeDir(): string {
    return path.join(this.dataDir, 'lake');
  }

  get deadLetterDir(): string {
    return path.join(this.dataDir, 'deadletter');
  }

  async run(sql: string, params?: Params): Promise<void> {
    await this.conn.run(sql, params);
  }

  /** Rows as plain objects; BIGINT, HUGEINT and DECIMAL arrive as strings so nothing loses precision. */
  async all<T extends Row = Row>(sql: string, params?: Params): Promise<T[]> {
    const reader = await this.conn.runAndReadAll(sql, params);
    return reader.getRowObjectsJson() as T[];
  }

  async one<T extends Row = Row>(sql: string, params?: Params): Promise<T | undefined> {
    return (await this.all<T>(sql, params))[0];
  }

  /** Runs fn in one transaction: everything it writes commits together or not at all. */
  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    await this.run('BEGIN TRANSACTION');
    try {
      const result = await fn();
      await this.run('COMMIT');
      return result;
    } catch (err) {
      await this.run('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  close(): void {
    this.conn.closeSync();
    if (this.owner) this.instance.closeSync();
  }
}
