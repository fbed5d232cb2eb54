import { removeOrphans } from '../lake/lake.js';
import { acquireRunLock } from '../util/run-lock.js';
import { Warehouse } from '../warehouse/warehouse.js';

/**
 * Runs fn as the data dir's one writer: run lock taken, warehouse open, orphans of a run that died
 * cleared first; both released however fn ends.
 */
export async function withWriter<T>(dataDir: string, fn: (wh: Warehouse) => Promise<T>): Promise<T> {
  const lock = acquireRunLock(dataDir);
  try {
    const wh = await Warehouse.open(dataDir);
    try {
      await removeOrphans(wh);
      return await fn(wh);
    } finally {
      wh.close();
    }
  } finally {
    lock.release();
  }
}
