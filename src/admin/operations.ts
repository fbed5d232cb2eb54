// What `adpipe verify` and `adpipe sink status|sync|verify` do, as data: run by the CLI when it is
// the data dir's one writer, and by /v1/admin when `adpipe serve` holds the data dir (the CLI then
// asks the server). The one place these commands call the sink and verify functions.

import type { Config } from '../config.js';
import { type VerifyResult, verifyWarehouse } from '../pipeline/verify.js';
import { configuredSinks } from '../sinks/sink.js';
import { syncWithRetry, type TableSync } from '../sinks/sync.js';
import { type Difference, sinkStatus, type TableStatus, verifySink } from '../sinks/verify.js';
import type { Warehouse } from '../warehouse/warehouse.js';

export type { Difference, TableStatus, TableSync, VerifyResult };

/** One sink's outcome: a failing sink does not stop the others. */
export type PerSink<T> = { sink: string; result: T } | { sink: string; error: string };

async function eachSink<T>(
  config: Config,
  name: string | undefined,
  fn: (sink: ReturnType<typeof configuredSinks>[number]) => Promise<T>,
): Promise<Array<PerSink<T>>> {
  const out: Array<PerSink<T>> = [];
  for (const s of configuredSinks(config, name)) {
    try {
      out.push({ sink: s.name, result: await fn(s) });
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
  return eachSink(config, name, (s) => wh.transaction(() => sinkStatus(wh, s)));
}

export function syncSinks(wh: Warehouse, config: Config, name: string | undefined, attempts: number) {
  return eachSink(config, name, (s) => syncWithRetry(wh, s, { attempts }));
}

export function verifySinkNamed(wh: Warehouse, config: Config, name: string): Promise<Difference[]> {
  const [sink] = configuredSinks(config, name);
  return wh.transaction(() => verifySink(wh, sink!));
}
