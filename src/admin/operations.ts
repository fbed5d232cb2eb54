// What `adpipe verify` and `adpipe sink status|sync|verify` do, as data: run by the CLI when it is
// the data dir's one writer, and by /v1/admin when `adpipe serve` holds the data dir (the CLI then
// asks the server). The one place these commands call the sink and verify functions.

import type { Config } from '../config.js';
import { AdpipeError } from '../errors.js';
import { type VerifyResult, verifyWarehouse } from '../pipeline/verify-warehouse.js';
import { type ConfiguredSink, configuredSinks, openSink } from '../sinks/configured.js';
import { type PartLag, sinkLag } from '../sinks/lag.js';
import type { Difference, PartSync, Sink } from '../sinks/sink.js';
import { syncWithRetry } from '../sinks/sync.js';
import { latestBatch } from '../warehouse/batches.js';
import type { Warehouse } from '../warehouse/warehouse.js';

export type { Difference, PartLag as TableStatus, PartSync as TableSync, VerifyResult };

/** One sink's outcome: a failing sink does not stop the others. */
export type PerSink<T> = { sink: string; result: T } | { sink: string; error: string };

/** Runs fn on each configured sink (or the one named), made on wh and closed afterwards. */
async function withSink<T>(
  wh: Warehouse,
  config: Config,
  s: ConfiguredSink,
  fn: (sink: Sink) => Promise<T>,
): Promise<T> {
  const sink = await openSink(s, config, wh);
  try {
    return await fn(sink);
  } finally {
    await sink.close();
  }
}

async function eachSink<T>(
  wh: Warehouse,
  config: Config,
  name: string | undefined,
  fn: (sink: Sink) => Promise<T>,
): Promise<Array<PerSink<T>>> {
  const out: Array<PerSink<T>> = [];
  for (const s of configuredSinks(config, name)) {
    try {
      out.push({ sink: s.name, result: await withSink(wh, config, s, fn) });
    } catch (err) {
      out.push({ sink: s.name, error: (err as Error).message });
    }
  }
  return out;
}

/** Rollups recomputed from the lake and compared, in one read transaction (one snapshot). */
export function verify(wh: Warehouse): Promise<VerifyResult> {
  return wh.transaction(() => verifyWarehouse(wh));
}

export function sinkStatuses(wh: Warehouse, config: Config, name?: string) {
  return eachSink(wh, config, name, (s) => wh.transaction(() => sinkLag(wh, s)));
}

export async function syncSinks(wh: Warehouse, config: Config, name: string | undefined, attempts: number) {
  const latest = await latestBatch(wh);
  return eachSink(wh, config, name, (s) => syncWithRetry(s, latest, { attempts }));
}

export function verifySinkNamed(wh: Warehouse, config: Config, name: string): Promise<Difference[]> {
  const [s] = configuredSinks(config, name);
  return withSink(wh, config, s!, (sink) => {
    if (!sink.verify)
      throw new AdpipeError('ADP_ERR_USAGE', [`sink ${name} (${sink.type}) cannot be verified`]);
    const check = sink.verify.bind(sink);
    return wh.transaction(() => check());
  });
}
