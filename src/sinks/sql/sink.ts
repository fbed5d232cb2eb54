// The SQL report-table sink, one implementation for MySQL/MariaDB, PostgreSQL and ClickHouse: per
// table, read the sink's watermark, compute the delta of batches in (watermark, upTo] in the
// embedded engine, hand it to the driver, which applies it and moves the watermark atomically.
// Deltas stay in the rollups (kept per batch), so a sink that is down only falls behind; the next
// sync catches up. Each operation opens its own connection, so a server that went away and came
// back needs nothing but the next attempt.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { AdpipeError } from '../../errors.js';
import { componentLogger } from '../../logger.js';
import { latestBatch } from '../../warehouse/batches.js';
import type { Warehouse } from '../../warehouse/warehouse.js';
import {
  type PartSync,
  type Sink,
  type SinkContext,
  type SinkPart,
  type SinkStatus,
  sinkError,
} from '../sink.js';
import type { SqlSinkConfig } from './config.js';
import { type ApplyHooks, type SinkConnection, type SinkDriver, watermarkTableOf } from './connection.js';
import { writeDelta } from './delta.js';
import { type SinkTable, sinkTables } from './table.js';
import { differences, embeddedRows } from './verify.js';

const log = componentLogger('sink');

export class SqlReportSink implements Sink {
  readonly name: string;
  readonly type: string;
  readonly tz: string;
  readonly tables: SinkTable[];
  readonly watermarkTable: string;
  private readonly wh: Warehouse;
  private readonly url: string;
  private readonly loader: string;

  constructor(
    config: SqlSinkConfig,
    ctx: SinkContext,
    private readonly driver: SinkDriver,
  ) {
    this.name = ctx.name;
    this.type = config.type;
    this.tz = config.tz ?? ctx.tz;
    this.tables = sinkTables(config);
    this.watermarkTable = watermarkTableOf(config);
    this.wh = ctx.warehouse;
    this.url = config.url;
    this.loader = ctx.loaderId;
  }

  /** Connects, runs fn, closes; driver errors become ADP_ERR_SINK_FAILED naming the sink. */
  private async connected<T>(fn: (conn: SinkConnection) => Promise<T>): Promise<T> {
    let conn: SinkConnection;
    try {
      conn = await this.driver.connect(this.url, this.watermarkTable, this.loader);
    } catch (err) {
      throw sinkError(this.name, err);
    }
    try {
      return await fn(conn);
    } catch (err) {
      throw sinkError(this.name, err);
    } finally {
      await conn.close().catch(() => undefined);
    }
  }

  async status(): Promise<SinkStatus> {
    const parts: SinkPart[] = await this.connected(async (conn) => {
      const out: SinkPart[] = [];
      for (const t of this.tables) {
        const w = await conn.watermark(t);
        out.push({ name: t.name, watermark: w.batchId, updatedAt: w.updatedAt });
      }
      return out;
    });
    const watermark = Math.min(...parts.map((p) => p.watermark));
    return this.driver.tagsDeltaRows ? { watermark, parts, loader: this.loader } : { watermark, parts };
  }

  /** Creates absent tables, then applies every table's delta up to batch upTo; hooks inject faults in tests. */
  async sync(upTo: number, hooks?: ApplyHooks): Promise<PartSync[]> {
    mkdirSync(path.join(this.wh.dataDir, 'tmp'), { recursive: true });
    const dir = mkdtempSync(path.join(this.wh.dataDir, 'tmp', 'sink-'));
    try {
      return await this.connected(async (conn) => {
        const stale = await conn.init(this.tables);
        if (stale.length > 0)
          throw new AdpipeError('ADP_ERR_SINK_MODEL', [
            this.name,
            stale.map((t) => t.name).join(', '),
            this.name,
          ]);
        const done: PartSync[] = [];
        const latest = await latestBatch(this.wh);
        for (const t of this.tables) {
          const after = (await conn.watermark(t)).batchId;
          // Rows of batches this warehouse never made: adding ours onto them would count twice.
          if (after > latest)
            throw new AdpipeError('ADP_ERR_SINK_AHEAD', [
              this.name,
              t.name,
              String(after),
              this.loader,
              String(latest),
              this.name,
            ]);
          if (after >= upTo) continue;
          const started = performance.now();
          const file = path.join(dir, `${t.report.name}.csv`);
          const range = { after, upTo };
          const tag = this.driver.tagsDeltaRows ? { loader: this.loader } : undefined;
          const rows = await writeDelta(this.wh, t, this.tz, range, file, tag);
          await conn.apply(t, { file, rows, ...range }, hooks);
          const seconds = (performance.now() - started) / 1000;
          const synced = { sink: this.name, table: t.name, after, upTo, rows, seconds };
          log.info(synced, 'sink table synced');
          done.push(synced);
        }
        return done;
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  verify() {
    return this.connected((conn) =>
      differences(this.tables, embeddedRows(this.wh, this.tz), (t) => conn.read(t)),
    );
  }

  rebuild() {
    return this.connected((conn) => conn.rebuild(this.tables));
  }

  /** Nothing stays open between operations. */
  async close(): Promise<void> {}
}
