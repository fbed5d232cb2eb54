// The batch numbers the warehouse has committed: what sinks catch up to, and what the next commit is.

import type { Warehouse } from './warehouse.js';

/** The last committed batch, 0 before the first. */
export async function latestBatch(wh: Warehouse): Promise<number> {
  const row = await wh.one<{ b: string }>('SELECT coalesce(max(batch_id), 0)::VARCHAR AS b FROM batches');
  return Number(row!.b);
}

/** The id the next committed batch takes. */
export async function nextBatchId(wh: Warehouse): Promise<number> {
  return (await latestBatch(wh)) + 1;
}
