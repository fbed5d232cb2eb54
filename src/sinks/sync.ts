// Bringing sinks up to date, the dialect-free part: per table, read the sink's watermark, compute
// the delta of batches in (watermark, latest] in the embedded engine, hand it to the driver, which
// applies it and moves the watermark atomically. Deltas stay in the rollups (kept per batch), so a
// sink that is down only falls behind; the next sync catches up.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import { AdpipeError } from '../errors.js';
import type { BatchResult } from '../loader/loader.js';
import { componentLogger } from '../logger.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import { latestBatch, writeDelta } from './delta.js';
import {
  type ApplyHooks,
  type ConfiguredSink,
  configuredSinks,
  type SinkConnection,
  sinkDriver,
  sinkError,
} from './sink.js';

const log = componentLogger('sink');

export interface TableSync {
  sink: string;
  table: string;
  after: number;
  upTo: number;
  rows: number;
  seconds: number;
}

export interface RetryOptions {
  /** Attempts in all (at least 1). */
  attempts?: number;
  /** First wait between attempts; doubles each time. */
  backoffMs?: number;
  hooks?: ApplyHooks;
}

/** Connects, runs fn, closes; driver errors become ADP_ERR_SINK naming the sink. */
export async function withSink<T>(
  sink: ConfiguredSink,
  fn: (conn: SinkConnection) => Promise<T>,
): Promise<T> {
  const driver = await sinkDriver(sink.config.type);
  let conn: SinkConnection;
  try {
    conn = await driver.connect(sink.config, sink.watermarkTable);
  } catch (err) {
    throw sinkError(sink.name, err);
  }
  try {
    return await fn(conn);
  } catch (err) {
    throw sinkError(sink.name, err);
  } finally {
    await conn.close().catch(() => undefined);
  }
}

/** One attempt: creates absent tables, then applies every table's pending delta. */
export async function syncSink(
  wh: Warehouse,
  sink: ConfiguredSink,
  hooks?: ApplyHooks,
): Promise<TableSync[]> {
  const driver = await sinkDriver(sink.config.type);
  const latest = await latestBatch(wh);
  mkdirSync(path.join(wh.dataDir, 'tmp'), { recursive: true });
  const dir = mkdtempSync(path.join(wh.dataDir, 'tmp', 'sink-'));
  try {
    return await withSink(sink, async (conn) => {
      const stale = await conn.init(sink.tables);
      if (stale.length > 0)
        throw new AdpipeError('ADP_ERR_SINK_MODEL', [
          sink.name,
          stale.map((t) => t.name).join(', '),
          sink.name,
        ]);
      const done: TableSync[] = [];
      for (const t of sink.tables) {
        const after = (await conn.watermark(t)).batchId;
        if (after >= latest) continue;
        const started = performance.now();
        const file = path.join(dir, `${t.report.name}.csv`);
        const rows = await writeDelta(wh, t, sink.tz, { after, upTo: latest }, file, driver.tagsDeltaRows);
        await conn.apply(t, { file, rows, after, upTo: latest }, hooks);
        const seconds = (performance.now() - started) / 1000;
        log.info({ sink: sink.name, table: t.name, after, upTo: latest, rows, seconds }, 'sink table synced');
        done.push({ sink: sink.name, table: t.name, after, upTo: latest, rows, seconds });
      }
      return done;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `adpipe sink rebuild`: drops the sink's tables, views and watermarks and refills the tables from
 * the rollups, which keep every batch: the way out of ADP_ERR_SINK_MODEL after a report model change.
 */
export async function rebuildSink(wh: Warehouse, sink: ConfiguredSink): Promise<TableSync[]> {
  await oneAtATime(sink.name, () => withSink(sink, (conn) => conn.rebuild(sink.tables)));
  log.warn({ sink: sink.name, tables: sink.tables.map((t) => t.name) }, 'sink tables dropped, refilling');
  return syncWithRetry(wh, sink);
}

/** The sync or rebuild running per sink in this process, which the next one waits for. */
const running = new Map<string, Promise<unknown>>();

/**
 * Runs fn once nothing else syncs or rebuilds the same sink in this process: the run lock keeps
 * other processes out, this keeps a sync asked for over the API from racing the one after a commit.
 */
export function oneAtATime<T>(sink: string, fn: () => Promise<T>): Promise<T> {
  const before = running.get(sink) ?? Promise.resolve();
  const mine = before.catch(() => undefined).then(fn);
  const tail = mine.catch(() => undefined);
  running.set(sink, tail);
  void tail.then(() => {
    if (running.get(sink) === tail) running.delete(sink);
  });
  return mine;
}

/** syncSink with bounded retries and exponential backoff; throws the last error. */
export async function syncWithRetry(
  wh: Warehouse,
  sink: ConfiguredSink,
  { attempts = 4, backoffMs = 500, hooks }: RetryOptions = {},
): Promise<TableSync[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await oneAtATime(sink.name, () => syncSink(wh, sink, hooks));
    } catch (err) {
      // A model change needs a rebuild, not another attempt.
      if (attempt >= attempts || (err as AdpipeError).code === 'ADP_ERR_SINK_MODEL') throw err;
      const wait = backoffMs * 2 ** (attempt - 1);
      log.warn({ sink: sink.name, attempt, wait, err: (err as Error).message }, 'sink sync failed, retrying');
      await sleep(wait);
    }
  }
}

/**
 * For ingest's onCommitted: syncs every configured sink after each committed group. A sink that
 * stays down is logged and skipped, never failing the ingest; its deltas wait in the rollups.
 */
export function syncAfterCommit(
  wh: Warehouse,
  config: Config,
  options: RetryOptions = { attempts: 2, backoffMs: 500 },
): ((batch: BatchResult) => Promise<void>) | undefined {
  const sinks = configuredSinks(config);
  if (sinks.length === 0) return undefined;
  return async (batch) => {
    for (const sink of sinks) {
      try {
        await syncWithRetry(wh, sink, options);
      } catch (err) {
        log.warn(
          { sink: sink.name, batchId: batch.batchId, err: (err as Error).message },
          'sink is behind; `adpipe sink sync` will catch up',
        );
      }
    }
  };
}
