// The configured SQL sinks as one subscriber of the runtime, over today's syncAfterCommit: after a
// commit, a sync runs in the background, one at a time; commits during a sync are coalesced into
// the next one (a sync takes every batch up to the latest). Closing waits for the pending sync, so
// `adpipe ingest` returns with its sinks up to date, and `adpipe serve`'s intake never waits on one.

import type { Config } from '../config.js';
import type { CommittedBatch, Subscriber, SubscriberStatus } from '../runtime/subscriber.js';
import { syncAfterCommit } from '../sinks/sync.js';
import type { Warehouse } from '../warehouse/warehouse.js';

/** Undefined when no sink is configured. */
export async function sinkSyncSubscriber(wh: Warehouse, config: Config): Promise<Subscriber | undefined> {
  if (config.sinks.length === 0) return undefined;
  // Its own connection: a sync reads the rollups while the server answers queries on the main one.
  const conn = await wh.fork();
  const sync = syncAfterCommit(conn, config)!;
  let running: Promise<void> | undefined;
  let next: CommittedBatch | undefined;
  let handled: number | undefined;
  const loop = async () => {
    for (let batch = next; batch; batch = next) {
      next = undefined;
      await sync({ ...batch, files: batch.units }); // logs a sink that stays down and leaves its deltas in the rollups
      handled = batch.batchId;
    }
    running = undefined;
  };
  return {
    name: 'sinks',
    committed(batch) {
      next = batch;
      running ??= loop();
    },
    status(): SubscriberStatus {
      return { name: 'sinks', state: running ? 'behind' : 'ok', handledBatch: handled };
    },
    async close() {
      await running;
      conn.close();
    },
  };
}
